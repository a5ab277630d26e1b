"""Letters are letters: the recipient in the envelope's window, letterhead, place and date,
subject, a letter's salutation and closing, the signatory, page numbers; read back from the
PDF's own text and positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.notifier.channels.letters.document import letter_pdf
from services.notifier.composing.composer import SAMPLE_RATES, CustomerView, EmailComposer
from services.notifier.composing.letter_pdf import DIN_5008_B, RIGHT_WINDOW, LetterLayout
from services.notifier.composing.statement_pdf import Document
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.pdf_text import Run, text_runs
from tests.unit.notifier.samples import NOW, reminder


def _customer(language: str, country: str = "FR", **address: Any) -> CustomerView:
    postal = {"lines": ["12 avenue des Fleurs"], "postal_code": "69003", "town": "Lyon"}
    return CustomerView(
        name="ACME Industrie SAS",
        language=language,
        contacts=(
            {
                "role": "billing",
                "name": "Claire Martin",
                "email": "compta@acme.example",
                "address": {**postal, "country": country, **address},
            },
        ),
    )


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(SAMPLE_RATES))


def _letter(
    composer: EmailComposer, company: str, language: str, customer: CustomerView
) -> list[Run]:
    due = reminder(
        "INV-1",
        "INV-2",
        level="formal_notice",
        channel="registered_letter",
        template="formal_notice",
        language=language,
    ).model_copy(update={"company_code": company})
    pdf, _, _ = letter_pdf(composer, due, due.invoices, customer, NOW)
    return text_runs(pdf)


def _width_mm(text: str, size: float = 10) -> float:
    pdf = Document(embed_fonts=True)  # the letter's own font
    pdf.add_page()
    pdf.set_font("helvetica", "", size)
    try:
        return float(pdf.get_string_width(text))
    finally:
        pdf.close_fonts()


def _assert_in_window(run: Run, layout: LetterLayout, size: float = 10) -> None:
    window = layout.window
    assert window.left <= run.x_mm, run
    assert run.x_mm + _width_mm(run.text, size) <= window.right, run
    # the baseline below the window's top by at least a capital's height, above its bottom
    assert window.top + 2 <= run.top_mm <= window.bottom - 1, run


def test_a_french_letter_puts_the_address_in_the_right_window(composer: EmailComposer) -> None:
    runs = _letter(composer, "FR01", "fr", _customer("fr"))
    page_one = [r for r in runs if r.page == 1]
    block = ["ACME Industrie SAS", "Claire Martin", "12 avenue des Fleurs", "69003 LYON"]
    address = [r for r in page_one if r.text in block]
    assert [r.text for r in address] == block  # in order, town in capitals (NF Z10-011)
    for run in address:
        _assert_in_window(run, RIGHT_WINDOW)
        assert run.x_mm == pytest.approx(address[0].x_mm)  # left-aligned
    assert address[0].x_mm >= 100  # 11 cm from the right edge at most
    assert address[0].top_mm >= 50 - 4  # from 5 cm below the top edge
    mention = next(r for r in page_one if r.text.startswith("Lettre recommandée"))
    _assert_in_window(mention, RIGHT_WINDOW, size=8)
    # no country line at home
    assert not any(r.text == "FRANCE" for r in page_one)


def test_a_german_letter_follows_din_5008_form_b(composer: EmailComposer) -> None:
    customer = _customer("de", "FR")
    runs = _letter(composer, "DE01", "de", customer)
    page_one = [r for r in runs if r.page == 1]
    block = ["ACME Industrie SAS", "Claire Martin", "12 avenue des Fleurs", "69003 LYON"]
    address = [r for r in page_one if r.text in (*block, "FRANKREICH")]
    assert [r.text for r in address] == [*block, "FRANKREICH"]  # abroad: the country last
    for run in address:
        _assert_in_window(run, DIN_5008_B)
        assert run.top_mm >= 62.7  # the recipient zone, under the return address zone
    sender = next(r for r in page_one if r.text.startswith("Relance Demo Deutschland GmbH,"))
    _assert_in_window(sender, DIN_5008_B, size=5.25)  # made small enough to fit
    assert sender.top_mm <= 62.7
    place_date = next(r for r in page_one if r.text.startswith("München, "))
    assert place_date.x_mm >= 125  # the information block
    assert place_date.text == "München, 2. März 2026"


def test_a_letter_reads_as_a_letter(composer: EmailComposer) -> None:
    runs = _letter(composer, "FR01", "fr", _customer("fr"))
    text = [r.text for r in runs]
    page_one = [r for r in runs if r.page == 1]
    assert page_one[0].text == "Relance Demo SAS"  # the letterhead first
    assert page_one[0].top_mm < 20
    assert "Paris, le 2 mars 2026" in text
    assert "Votre numéro de client : C-1001" in text
    assert "Factures : INV-1, INV-2" in text
    subject = next(r for r in page_one if r.text.startswith("Objet : "))
    assert subject.text == "Objet : Mise en demeure de payer"
    assert "Madame, Monsieur," in text
    salutation = text.index("Madame, Monsieur,")
    assert page_one[salutation].top_mm > subject.top_mm
    whole = "\n".join(text)
    for email_phrase in ("joint à ce message", "Bonjour", "Cordialement", "Dear customer"):
        assert email_phrase not in whole
    assert "Claire Dubois" in text
    assert "Responsable du recouvrement" in text
    assert text.index("Responsable du recouvrement") > text.index("Claire Dubois")
    pages = max(r.page for r in runs)
    assert pages >= 2  # the statement on a page of its own
    for page in range(1, pages + 1):
        assert f"Page {page} / {pages}" in text
    footer = next(r for r in page_one if r.text.startswith("Relance Demo SAS - RCS Paris"))
    assert "FR00900000001" in footer.text
    assert footer.top_mm > 270


def test_an_english_letter_greets_the_named_contact_and_closes_accordingly(
    composer: EmailComposer,
) -> None:
    customer = _customer("en", "GB", postal_code="EC1A 1BB", town="London")
    text = [r.text for r in _letter(composer, "GB01", "en", customer)]
    assert "Dear Claire Martin," in text
    assert "Yours sincerely," in text
    assert text[text.index("Claire Martin") + 2 : text.index("Claire Martin") + 4] == [
        "LONDON",
        "EC1A 1BB",
    ]  # a British address: town, then postcode


def test_a_polish_or_turkish_name_is_printed_as_written(composer: EmailComposer) -> None:
    customer = CustomerView(
        name="Przedsiębiorstwo Łódź Sp. z o.o.",
        language="fr",
        contacts=(
            {
                "role": "billing",
                "name": "Ğül Çelik",
                "email": "a@b.example",
                "address": {
                    "lines": ["ul. Piotrkowska 12"],
                    "postal_code": "90-001",
                    "town": "Łódź",
                    "country": "PL",
                },
            },
        ),
    )
    runs = _letter(composer, "FR01", "fr", customer)
    text = [r.text for r in runs]
    assert text[text.index("Przedsiębiorstwo Łódź Sp. z o.o.") :][:5] == [
        "Przedsiębiorstwo Łódź Sp. z o.o.",
        "Ğül Çelik",
        "ul. Piotrkowska 12",
        "90-001 ŁÓDŹ",
        "POLOGNE",  # abroad: the country, in the sender's language
    ]
    assert any("700,00\u00a0€" in t for t in text)  # the euro sign itself


def test_an_emails_statement_embeds_a_font_only_when_a_name_needs_it(
    composer: EmailComposer,
) -> None:
    from datetime import UTC, datetime

    from services.notifier.composing.composer import sample_context
    from services.notifier.composing.statement_pdf import statement_pdf
    from tests.unit.notifier.pdf_text import page_text

    creditor = composer.creditor_for("FR01")
    arguments = {
        "creditor": creditor,
        "customer_id": "C-1",
        "language": "fr",
        "statement": sample_context(creditor)["statement"],
        "created_at": datetime(2026, 3, 2, tzinfo=UTC),
    }
    latin = statement_pdf(customer_name="Société Générale", **arguments)
    polish = statement_pdf(customer_name="Przedsiębiorstwo Łódź", **arguments)
    assert b"/FontFile2" not in latin  # the core fonts: nothing embedded
    assert "Client: Société Générale (C-1)" in page_text(latin)
    assert b"/FontFile2" in polish
    assert "Client: Przedsiębiorstwo Łódź (C-1)" in page_text(polish)


def test_the_companys_logo_heads_its_letters_and_statements(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from PIL import Image

    from services.notifier.composing.composer import sample_context
    from services.notifier.composing.letter_pdf import Recipient
    from services.notifier.composing.letter_pdf import letter_pdf as draw_letter
    from services.notifier.composing.statement_pdf import statement_pdf

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (200, 30, 30)).save(logo)
    creditor = replace(EmailComposer.load(NotifierSettings()).creditor_for("FR01"), logo=logo)
    statement = sample_context(creditor)["statement"]
    when = datetime(2026, 3, 2, tzinfo=UTC)
    letter = draw_letter(
        creditor=creditor,
        customer_name="ACME",
        customer_id="C-1",
        recipient=Recipient("ACME"),
        language="fr",
        subject="Relance",
        text="Madame, Monsieur,",
        statement=statement,
        registered=False,
        created_at=when,
        invoice_numbers=("INV-1",),
    )
    alone = statement_pdf(
        creditor=creditor,
        customer_name="ACME",
        customer_id="C-1",
        language="fr",
        statement=statement,
        created_at=when,
    )
    for pdf in (letter, alone):
        assert b"/Subtype /Image" in pdf
        assert b"/Width 120" in pdf


@pytest.mark.parametrize(
    ("language", "title", "handled"),
    [
        ("de", "Übersicht der offenen Rechnungen", "strittig seit dem"),
        ("es", "Extracto de facturas pendientes", "en disputa desde el"),
        ("it", "Estratto delle fatture aperte", "contestata dal"),
    ],
)
def test_the_statement_speaks_the_customers_language(
    composer: EmailComposer, language: str, title: str, handled: str
) -> None:
    from datetime import date

    from services.notifier.domain.statement import Handling
    from tests.unit.notifier.pdf_text import page_text

    due = reminder("INV-1", "INV-2", language=language, channel="postal_letter")
    customer = _customer(language)
    customer = CustomerView(
        customer.name,
        language,
        customer.contacts,
        handled={"FR01/INV-2": Handling("dispute", since=date(2026, 2, 18))},
    )
    pdf, _, _ = letter_pdf(composer, due, due.invoices, customer, NOW)
    text = page_text(pdf)
    assert title in text
    assert handled in text


def test_a_letter_is_written_as_pdf_a_2u(composer: EmailComposer) -> None:
    due = reminder("INV-1", level="formal_notice", channel="registered_letter")
    pdf, _, _ = letter_pdf(composer, due, due.invoices, _customer("fr"), NOW)
    assert b"<pdfaid:part>2</pdfaid:part>" in pdf or b'pdfaid:part="2"' in pdf
    assert b"/OutputIntents" in pdf
    assert b"/FontFile2" in pdf  # every font embedded
    assert b"/Helvetica" not in pdf
    again, _, _ = letter_pdf(composer, due, due.invoices, _customer("fr"), NOW)
    assert again == pdf  # deterministic: no random document id, dates from the dispatch


def test_a_letter_is_the_same_from_one_second_to_the_next(composer: EmailComposer) -> None:
    import time

    due = reminder("INV-1", level="formal_notice", channel="registered_letter")
    first, _, _ = letter_pdf(composer, due, due.invoices, _customer("fr"), NOW)
    time.sleep(1.1)  # fpdf2 dates the XMP with the real clock; the bytes must not change
    again, _, _ = letter_pdf(composer, due, due.invoices, _customer("fr"), NOW)
    assert again == first


def _embedded_fonts(pdf: bytes) -> list[Any]:
    """The TrueType fonts a PDF embeds, parsed by fontTools (each stream compressed)."""
    import io
    import re
    import zlib

    from fontTools.ttLib import TTFont

    fonts = []
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            data = zlib.decompress(stream.group(1))
        except zlib.error:
            continue
        if data[:4] == b"\x00\x01\x00\x00":  # a TrueType font file
            font = TTFont(io.BytesIO(data))
            font.ensureDecompiled()
            fonts.append(font)
    return fonts


def test_a_letters_font_is_loaded_once_per_process_and_the_letter_reads_the_same(
    composer: EmailComposer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fpdf.fpdf

    from services.notifier.composing import statement_pdf

    assert statement_pdf.LOADED_ONCE  # fpdf2's TTFFont is the one _dejavu knows how to copy
    customer = CustomerView(
        name="Przedsiębiorstwo Łódź Sp. z o.o.",
        language="fr",
        contacts=_customer("fr").contacts,
    )
    due = reminder("INV-1", "INV-2", level="formal_notice", channel="registered_letter")
    letter_pdf(composer, due, due.invoices, customer, NOW)  # the fonts loaded, if not yet
    parsed: list[str] = []

    class CountedFont(fpdf.fpdf.TTFFont):  # type: ignore[misc, name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            parsed.append(str(args[2]))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(fpdf.fpdf, "TTFFont", CountedFont)
    loaded, _, _ = letter_pdf(composer, due, due.invoices, customer, NOW)
    assert parsed == []  # nothing parsed again for this letter
    monkeypatch.setattr(statement_pdf, "LOADED_ONCE", False)
    parsed_each_time, _, _ = letter_pdf(composer, due, due.invoices, customer, NOW)
    assert sorted(parsed) == ["dejavu", "dejavuB"]  # fpdf2's own add_font, per document

    assert text_runs(loaded) == text_runs(parsed_each_time)
    assert any("Łódź" in run.text for run in text_runs(loaded))
    ours, theirs = _embedded_fonts(loaded), _embedded_fonts(parsed_each_time)
    assert len(ours) == len(theirs) == 2
    for font, reference in zip(ours, theirs, strict=True):
        # the same subset: glyphs, outlines, widths and character map; only the font-wide
        # bounding box and maxima may be the cut font's (larger, still true)
        assert font.getGlyphOrder() == reference.getGlyphOrder()
        assert font["glyf"].glyphs.keys() == reference["glyf"].glyphs.keys()
        for name in font.getGlyphOrder():
            assert (
                font["glyf"][name].getCoordinates(font["glyf"])[0]
                == (reference["glyf"][name].getCoordinates(reference["glyf"])[0])
            )
        assert font["hmtx"].metrics == reference["hmtx"].metrics
        assert font.getBestCmap() == reference.getBestCmap()
        head, reference_head = font["head"], reference["head"]
        assert head.xMin <= reference_head.xMin
        assert head.yMin <= reference_head.yMin
        assert head.xMax >= reference_head.xMax
        assert head.yMax >= reference_head.yMax
