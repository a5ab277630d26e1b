"""The letters' and statements' line breaking, against fpdf2's own ``multi_cell``."""

from __future__ import annotations

from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.composing.statement_pdf import lines_for

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÉé0123456789.,:/-'", min_size=0, max_size=40)
PARAGRAPHS = st.lists(WORDS, max_size=60).map(" ".join)
TEXTS = st.lists(PARAGRAPHS, min_size=1, max_size=5).map("\n".join)


def page(size: int = 10) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "", size)
    return pdf


@settings(max_examples=150, deadline=None)
@given(TEXTS, st.sampled_from([9, 10, 12]))
def test_lines_are_multi_cells_lines(text: str, size: int) -> None:
    pdf = page(size)
    theirs = pdf.multi_cell(0, 5, text, dry_run=True, output="LINES")
    assert isinstance(theirs, list)
    ours = lines_for(pdf, text)
    # multi_cell keeps the space it broke at on the line before; the words and the breaks
    # are the same
    assert [line.rstrip(" ") for line in ours] == [str(line).rstrip(" ") for line in theirs]


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_every_line_fits_and_nothing_is_lost(text: str) -> None:
    pdf = page()
    limit = pdf.epw - 2 * pdf.c_margin
    lines = lines_for(pdf, text)
    for line in lines:
        assert pdf.get_string_width(line) <= limit + 1e-9
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    assert len(lines) >= len(text.removesuffix("\n").split("\n"))


def test_a_word_wider_than_the_page_is_cut_where_it_must_be() -> None:
    pdf = page()
    link = "https://pay.creditor.example/statement/" + "a1b2c3" * 40
    lines = lines_for(pdf, f"Pay online: {link} today")
    assert lines[0] == "Pay online:"
    assert "".join(lines[1:]).replace(" today", "") == link
    assert len(lines) >= 3
    assert lines[-1].endswith("today")
