"""The statement of open items as a one-page PDF (fpdf2, pure Python).

The core PDF fonts cover Latin-1 only: the euro sign and typographic quotes are replaced by
close equivalents before drawing. A document with a character no replacement covers (a
name in Polish, Czech or Turkish) is drawn in DejaVu Sans instead (``Document``).
"""

from __future__ import annotations

import atexit
import copy
import io
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import CharVPos, TextMode, XPos, YPos
from fpdf.fonts import CoreFont, SubsetMap, TTFFont
from fpdf.util import escape_parens

from services.notifier.composing.rendering import (
    Creditor,
    format_date,
    format_handling,
    format_money,
    format_rate,
    regional,
)
from services.notifier.domain.statement import PlatformReference, Statement

PLATFORM_LABELS = {  # platform, generic platform, service code, commitment number
    "fr": (
        "Chorus Pro :",
        "Plateforme de facturation publique :",
        "code service",
        "n° d'engagement",
    ),
    "en": ("Chorus Pro:", "Public e-invoicing platform:", "service code", "commitment number"),
    "de": (
        "Chorus Pro:",
        "Öffentliche E-Rechnungsplattform:",
        "Code der Dienststelle",
        "Verpflichtungsnummer",
    ),
    "es": (
        "Chorus Pro:",
        "Plataforma pública de facturación electrónica:",
        "código de servicio",
        "número de compromiso",
    ),
    "it": (
        "Chorus Pro:",
        "Piattaforma pubblica di fatturazione elettronica:",
        "codice servizio",
        "numero di impegno",
    ),
}


def platform_text(platform: PlatformReference, language: str, creditor_country: str) -> str:
    """A public body's references on its e-invoicing platform (Chorus Pro for a French
    creditor), as the letter's statement prints them under the invoice."""
    chorus, generic, service, commitment = PLATFORM_LABELS.get(language, PLATFORM_LABELS["en"])
    parts = []
    if platform.service_code:
        parts.append(f"{service} {platform.service_code}")
    if platform.commitment_number:
        parts.append(f"{commitment} {platform.commitment_number}")
    return f"{chorus if creditor_country == 'FR' else generic} {', '.join(parts)}"


LABELS = {
    "fr": {
        "title": "Relevé de factures ouvertes",
        "customer": "Client",
        "as_of": "Au",
        "invoice": "Facture",
        "due": "Échéance",
        "amount": "Montant",
        "open": "Restant dû",
        "interest": "Pénalités",
        "total": "Total",
        "rate": "Taux des pénalités de retard : {rate} % l'an "
        "à compter du lendemain de l'échéance.",
        "contract_rate": "Facture {invoice} : taux contractuel de {rate} % l'an.",
        "indemnity": "Indemnité forfaitaire pour frais de recouvrement : {amount} "
        "({count} facture(s)).",
        "unknown": "Les intérêts de retard ne figurent pas dans ce relevé : le taux de "
        "référence de certains jours de retard n'est pas encore publié.",
    },
    "en": {
        "title": "Statement of open invoices",
        "customer": "Customer",
        "as_of": "On",
        "invoice": "Invoice",
        "due": "Due date",
        "amount": "Amount",
        "open": "Outstanding",
        "interest": "Interest",
        "total": "Total",
        "rate": "Late-payment interest rate: {rate}% a year from the day after the due date.",
        "contract_rate": "Invoice {invoice}: contractual rate of {rate}% a year.",
        "indemnity": "Fixed recovery indemnity: {amount} ({count} invoice(s)).",
        "unknown": "Late-payment interest is left out of this statement: the reference rate "
        "of some days late is not published yet.",
    },
    "de": {
        "title": "Übersicht der offenen Rechnungen",
        "customer": "Kunde",
        "as_of": "Stand",
        "invoice": "Rechnung",
        "due": "Fällig am",
        "amount": "Betrag",
        "open": "Offen",
        "interest": "Zinsen",
        "total": "Summe",
        "rate": "Verzugszinssatz: {rate} % pro Jahr ab dem Tag nach Fälligkeit.",
        "contract_rate": "Rechnung {invoice}: vertraglicher Zinssatz von {rate} % pro Jahr.",
        "indemnity": "Pauschale für Beitreibungskosten: {amount} ({count} Rechnung(en)).",
        "unknown": "Verzugszinsen sind in dieser Übersicht nicht enthalten: Der "
        "Referenzzinssatz einiger Verzugstage ist noch nicht veröffentlicht.",
    },
    "es": {
        "title": "Extracto de facturas pendientes",
        "customer": "Cliente",
        "as_of": "A",
        "invoice": "Factura",
        "due": "Vencimiento",
        "amount": "Importe",
        "open": "Pendiente",
        "interest": "Intereses",
        "total": "Total",
        "rate": "Tipo de interés de demora: {rate} % anual desde el día siguiente al vencimiento.",
        "contract_rate": "Factura {invoice}: tipo contractual del {rate} % anual.",
        "indemnity": "Indemnización por costes de cobro: {amount} ({count} factura(s)).",
        "unknown": "Los intereses de demora no figuran en este extracto: el tipo de "
        "referencia de algunos días de retraso aún no se ha publicado.",
    },
    "it": {
        "title": "Estratto delle fatture aperte",
        "customer": "Cliente",
        "as_of": "Al",
        "invoice": "Fattura",
        "due": "Scadenza",
        "amount": "Importo",
        "open": "Da pagare",
        "interest": "Interessi",
        "total": "Totale",
        "rate": "Tasso degli interessi di mora: {rate} % annuo dal giorno successivo alla "
        "scadenza.",
        "contract_rate": "Fattura {invoice}: tasso contrattuale del {rate} % annuo.",
        "indemnity": "Importo forfettario per i costi di recupero: {amount} ({count} fattura/e).",
        "unknown": "Gli interessi di mora non figurano in questo estratto: il tasso di "
        "riferimento di alcuni giorni di ritardo non è ancora pubblicato.",
    },
}
_REPLACEMENTS = str.maketrans(
    {"€": "EUR", "\u2013": "-", "\u2014": "-", "\u2019": "'", "\u202f": " "}
)


_EURO_BEFORE_DIGIT = re.compile("€(?=[0-9])")
_XMP_CREATE = re.compile(rb'xmp:CreateDate="([0-9T:+-]{25})"')
_XMP_LATER = re.compile(rb'((?:xmp:ModifyDate|xmp:MetadataDate)=")[0-9T:+-]{25}"')


def _replaced(text: str) -> str:
    """The narrow no-break space (Babel's French thousands) as a plain one: neither font
    family measures it the same way everywhere."""
    return text.replace("\u202f", " ")


def _core(text: str) -> str:
    text = _EURO_BEFORE_DIGIT.sub("EUR\u00a0", text)  # €700.00 -> EUR 700.00
    return text.translate(_REPLACEMENTS)


def _latin1(text: str) -> str:
    return _core(text).encode("latin-1", "replace").decode("latin-1")


def wrapped(text: str, width_of: Callable[[str], float], limit: float) -> list[str]:
    """The lines of ``text`` that each fit in ``limit``, broken at spaces (greedy).

    Every newline ends a line (a last one ends the last line, as in ``multi_cell``); a word
    wider than a whole line is cut where it must be. Spaces between words are kept as they
    were, except at the breaks.
    """
    space = width_of(" ")
    lines: list[str] = []
    paragraphs = text.split("\n")
    if len(paragraphs) > 1 and paragraphs[-1] == "":
        paragraphs.pop()
    for paragraph in paragraphs:
        line: list[str] = []
        used = 0.0
        for word in paragraph.split(" "):
            width = width_of(word)
            while width > limit and len(word) > 1:  # a URL, a long reference: cut it
                if line:
                    lines.append(" ".join(line))
                    line, used = [], 0.0
                cut = len(word) - 1
                while cut > 1 and width_of(word[:cut]) > limit:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                width = width_of(word)
            if line and used + space + width > limit:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used = width if not line else used + space + width
            line.append(word)
        lines.append(" ".join(line))
    return lines


def creditor_texts(creditor: Creditor) -> tuple[str, ...]:
    return tuple(
        text
        for text in (
            creditor.name,
            *creditor.address,
            *creditor.return_address,
            creditor.email,
            creditor.phone,
            creditor.registration,
            creditor.vat_number,
            creditor.city,
            creditor.signatory_name,
            creditor.signatory_title,
        )
        if text
    )


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
# What letters need of DejaVu: Latin (with Extended-A, -B and Additional), Greek, Cyrillic,
# punctuation, currency signs (the euro) and letterlike symbols. The font is cut to these
# once per process: each document then parses and subsets a font a fifth of the size.
SCRIPTS = (
    (0x20, 0x24F),
    (0x370, 0x3FF),
    (0x400, 0x52F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
)
_CUT_FONTS: dict[str, Path] = {}
_CUT_LOCK = threading.Lock()


def _font_file(style: str) -> Path:
    """DejaVu Sans in ``style``, cut to ``SCRIPTS`` in a temporary folder the first time."""
    with _CUT_LOCK:
        if style not in _CUT_FONTS:
            folder = Path(tempfile.mkdtemp(prefix="relance-fonts-"))
            atexit.register(shutil.rmtree, folder, True)
            options = ftsubset.Options()
            options.name_IDs = ["*"]
            options.notdef_outline = True
            options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF", "kern"]
            # the font's own modification date kept: the letters' bytes do not depend on
            # when the process started
            font = TTFont(str(DEJAVU / DEJAVU_FILES[style]), recalcTimestamp=False)
            try:
                subsetter = ftsubset.Subsetter(options)
                subsetter.populate(
                    unicodes=[c for first, last in SCRIPTS for c in range(first, last + 1)]
                )
                subsetter.subset(font)
                target = folder / DEJAVU_FILES[style]
                font.save(str(target))
            finally:
                font.close()
            _CUT_FONTS[style] = target
        return _CUT_FONTS[style]


# What fpdf2 2.8's TTFFont holds: what :func:`_dejavu` copies from a loaded font, or gives
# each document its own of (``i``, ``ttfont``, ``cw``, ``desc``, ``subset``,
# ``missing_glyphs``, ``biggest_size_pt``, ``_hbfont``). Another fpdf2 with other slots
# falls back to its own ``add_font`` (a font parsed per document) rather than share state.
_TTFFONT_SLOTS = frozenset(
    {
        *("i", "type", "name", "desc", "glyph_ids", "_hbfont", "sp", "ss", "up", "ut"),
        *("cw", "ttffile", "fontkey", "emphasis", "scale", "subset", "cmap", "ttfont"),
        *("missing_glyphs", "biggest_size_pt", "color_font", "unicode_range"),
        *("palette_index", "is_compressed", "is_cff", "is_cid_keyed", "is_symbol"),
        *("cff_ros", "collection_font_number"),
    }
)
LOADED_ONCE = frozenset(getattr(TTFFont, "__slots__", ())) == _TTFFONT_SLOTS


@dataclass(frozen=True)
class _LoadedFont:
    """DejaVu in one style as fpdf2 loads it (widths, character map, glyph ids, the font's
    descriptor), with the cut font's bytes and glyph order: once per process."""

    metrics: TTFFont
    data: bytes
    glyph_order: tuple[str, ...]


_LOADED_FONTS: dict[str, _LoadedFont] = {}


def _loaded_font(style: str) -> _LoadedFont:
    with _CUT_LOCK:
        loaded = _LOADED_FONTS.get(style)
    if loaded is None:
        path = _font_file(style)
        data = path.read_bytes()
        metrics = TTFFont(FPDF(), path, f"dejavu{style}", style)
        metrics.close()  # what documents use of it is read at load; each has its own font
        order = TTFont(io.BytesIO(data), lazy=True)
        try:
            loaded = _LoadedFont(metrics, data, tuple(order.getGlyphOrder()))
        finally:
            order.close()
        with _CUT_LOCK:
            loaded = _LOADED_FONTS.setdefault(style, loaded)
    return loaded


def _dejavu(pdf: FPDF, style: str) -> TTFFont | None:
    """DejaVu in ``style`` for one document, as ``add_font`` would make it, without parsing
    the font again: the loaded font's read-only parts are shared; the document gets its own
    subset map, widths table, descriptor (the output names it) and fontTools font (the
    output subsets it in place). That font keeps the cut font's bounding boxes and maxima
    (``recalcBBoxes=False``: still true of the subset, and recomputing them means decoding
    every glyph used) and is given the glyph order (else fontTools rebuilds it from the
    character map): a letter's two fonts cost a third of the letter's CPU instead of
    three quarters. The document's text is the same (tests/unit/notifier/test_letters.py).
    None for a colour font (its Type 3 glyphs belong to one document): ``add_font`` then."""
    loaded = _loaded_font(style)
    metrics = loaded.metrics
    if metrics.color_font is not None:
        return None
    font = copy.copy(metrics)
    font.i = len(pdf.fonts) + 1
    font.ttfont = TTFont(
        io.BytesIO(loaded.data), recalcTimestamp=False, recalcBBoxes=False, lazy=True
    )
    font.ttfont.setGlyphOrder(list(loaded.glyph_order))
    font.cw = copy.copy(metrics.cw)  # a defaultdict: reading a missing width adds it
    font.desc = copy.copy(metrics.desc)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font


def needs_unicode(texts: Iterable[str]) -> bool:
    """Whether a text has a character the core fonts cannot draw even after the usual
    replacements (a Polish, Czech or Turkish name: Ł, ř, Ğ)."""
    return any(ch > "\xff" for text in texts for ch in _core(text))


class Document(FPDF):
    """An A4 document in the core Helvetica (Latin-1, nothing embedded, fast) when its texts
    fit and ``embed_fonts`` is not asked, else in DejaVu Sans (Latin Extended, Greek,
    Cyrillic, the euro sign), embedded and subset, from Debian's fonts-dejavu-core. Without
    those files it stays in Helvetica and replaces what Latin-1 lacks with ``?``.

    Embedding costs: each style is added when first used and subset at the end (fpdf2
    subsets the font in place, so each document has its own fontTools font); the font is cut
    to the scripts letters need and loaded (widths, character map) once per process
    (``_font_file``, ``_dejavu``). Letters always embed; an email's statement only when one
    of its texts needs it."""

    def __init__(self, *texts: str, embed_fonts: bool = False) -> None:
        self.unicode = (embed_fonts or needs_unicode(texts)) and all(
            (DEJAVU / name).is_file() for name in DEJAVU_FILES.values()
        )
        # a letter with its fonts embedded is written as PDF/A-2U (fpdf2 adds the XMP
        # identification and the sRGB output intent, and refuses what PDF/A forbids)
        self.pdf_a = embed_fonts and self.unicode
        super().__init__(format="A4", enforce_compliance="PDFA_2U" if self.pdf_a else None)

    def set_font(  # type: ignore[override]
        self, family: str | None = None, style: str = "", size: float = 0
    ) -> None:
        if self.unicode and family == "helvetica":
            family = "dejavu"
            key = f"dejavu{style}"
            if key not in self.fonts:  # each style loaded when first used
                font = _dejavu(self, style) if LOADED_ONCE else None
                if font is None:
                    self.add_font("dejavu", style, str(_font_file(style)))
                else:
                    self.fonts[key] = font
        super().set_font(family, style, size)

    def pdf_bytes(self) -> bytes:
        """The finished document; the font files fpdf2 keeps open are closed.

        fpdf2 dates a PDF/A's XMP ``ModifyDate`` and ``MetadataDate`` with the real clock;
        they are set to the creation date (the dispatch instant, as long, in UTC) so that
        the same inputs give the same bytes."""
        try:
            return self._steady(bytes(self.output()))
        finally:
            self.close_fonts()

    def _steady(self, document: bytes) -> bytes:
        created = _XMP_CREATE.search(document)
        if not (self.pdf_a and created):
            return document
        stamp = created.group(1)
        return _XMP_LATER.sub(lambda m: m.group(1) + stamp + b'"', document)

    def _default_file_id(self, buffer: bytearray) -> str:
        """The file's /ID, a hash of its content: of the content with the steady dates."""
        return super()._default_file_id(bytearray(self._steady(bytes(buffer))))

    def close_fonts(self) -> None:
        for font in self.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()

    def text_of(self, text: str) -> str:
        """``text`` as the document's fonts draw it."""
        return _replaced(text) if self.unicode else _latin1(text)

    def cell(
        self,
        w: float | None = None,
        h: float | None = None,
        text: str = "",
        border: Literal[0, 1] | str = 0,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """fpdf2's ``cell``, written directly in the common case: a line of text in a core
        font (Helvetica), left-aligned, framed or not, on the page as it is.

        fpdf2 splits each cell's text into styled fragments, measures them and renders them
        through its general text-line writer (markdown, links, colours, shaping, underlines):
        about 60 µs a cell, some 40 cells a statement, half of drawing it. This writes the
        same operators, byte for byte (``tests/unit/notifier/test_statement_pdf_cells.py``
        draws statements both ways), and leaves any other case to fpdf2."""
        new_x = XPos.coerce(kwargs.get("new_x", XPos.RIGHT))
        new_y = YPos.coerce(kwargs.get("new_y", YPos.TOP))
        if (
            args
            or set(kwargs) - {"new_x", "new_y"}
            or new_x not in (XPos.RIGHT, XPos.LMARGIN)
            or new_y not in (YPos.TOP, YPos.NEXT)
            or not self._plain_cell(w, h, text, border)
        ):
            return super().cell(w, h, text, border, *args, **kwargs)
        assert w is not None
        assert h is not None
        assert self.current_font is not None
        text = self.normalize_text(text)
        k = self.k
        if w == 0:
            w = self.w - self.r_margin - self.x
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(self.current_font, self.font_size_pt))
        operators = []
        if border == 1:
            left = self.x * k
            right = (self.x + w) * k
            top = (self.h - self.y) * k
            bottom = (self.h - (self.y + h)) * k
            operators.append(f"{left:.2f} {top:.2f} {right - left:.2f} {bottom - top:.2f} re S")
        font_size = self.font_size_pt / k
        operators.append(
            f"BT {(self.x + self.c_margin) * k:.2f} "
            f"{(self.h - self.y - 0.5 * h - 0.3 * font_size) * k:.2f} Td "
            f"({escape_parens(text)}) Tj ET"
        )
        self._out(" ".join(operators))
        self._lasth = h
        if new_x == XPos.RIGHT:
            self.x += w
        else:
            self.x = self.l_margin
        if new_y == YPos.NEXT:
            self.y += h
        return False

    def _plain_cell(self, w: float | None, h: float | None, text: str, border: object) -> bool:
        """Whether :meth:`cell` can write this cell itself (else fpdf2 does)."""
        font = self.current_font
        return (
            not self.unicode
            and self.page > 0
            and font is not None
            and isinstance(font, CoreFont)
            and isinstance(w, int | float)
            and isinstance(h, int | float)
            and h > 0
            and bool(text)
            and border in (0, 1)
            and self.str_alias_nb_pages not in text
            and not self.will_page_break(h)
            and not self.underline
            and not self.strikethrough
            and self.text_mode == TextMode.FILL
            and self.char_vpos == CharVPos.LINE
            and self.char_spacing == 0
            and self.font_stretching == 100
            and self.text_color == self.fill_color
            and not self.text_shaping
            and not self._fallback_font_ids
            and not self._record_text_quad_points
        )


def lines_for(pdf: FPDF, text: str) -> list[str]:
    """``text`` broken into lines over the page's width in the current font."""
    font = pdf.current_font
    assert font is not None
    size, scale = pdf.font_size_pt, pdf.k

    def width_of(chunk: str) -> float:
        return float(font.get_text_width(chunk, size, None)[1]) / scale

    return wrapped(text, width_of, pdf.epw - 2 * pdf.c_margin)


def _paragraphs(pdf: FPDF, height: float, text: str) -> None:
    """Write ``text`` over the page's width, one cell per line (``multi_cell``'s job).

    Written here because fpdf2's ``multi_cell`` measures its whole line again for every
    character it adds (62 ms for a 2,300-character letter, 9 ms this way, the same lines).
    The core fonts' widths are a table, so each word is measured once here.
    """
    for line in lines_for(pdf, text):
        pdf.cell(0, height, line, new_x="LMARGIN", new_y="NEXT")


def statement_pdf(
    *,
    creditor: Creditor,
    customer_name: str,
    customer_id: str,
    language: str,
    statement: Statement,
    created_at: datetime,
) -> bytes:
    """A deterministic PDF for the same inputs (creation date fixed to ``created_at``)."""
    labels = LABELS.get(language, LABELS["en"])
    pdf = Document(
        *creditor_texts(creditor),
        customer_name,
        customer_id,
        *(line.invoice_number for line in statement.lines),
        *(
            reference or ""
            for line in statement.lines
            if line.platform is not None
            for reference in (line.platform.service_code, line.platform.commitment_number)
        ),
    )
    pdf.set_creation_date(created_at)
    pdf.set_title(pdf.text_of(labels["title"]))
    pdf.set_author(pdf.text_of(creditor.name))
    pdf.add_page()
    if creditor.logo is not None:  # top right, beside the company's name
        pdf.image(str(creditor.logo), x=pdf.w - pdf.r_margin - 40, y=pdf.t_margin, h=15)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 6, pdf.text_of(creditor.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    for line in (
        *creditor.address,
        creditor.email,
        creditor.phone,
        creditor.registration,
        creditor.vat_number,
    ):
        if line:
            pdf.cell(0, 4.5, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    draw_statement(
        pdf,
        creditor=creditor,
        customer_name=customer_name,
        customer_id=customer_id,
        language=language,
        statement=statement,
    )
    return pdf.pdf_bytes()


def draw_statement(
    pdf: Document,
    *,
    creditor: Creditor,
    customer_name: str,
    customer_id: str,
    language: str,
    statement: Statement,
) -> None:
    """The statement's title, table, penalties and bank details from the current position
    (labels in ``language``; dates and amounts as the creditor's country writes it: a
    British company's 2 March 2026, not March 2, 2026)."""
    labels = LABELS.get(language, LABELS["en"])
    local = regional(language, creditor.country)
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, pdf.text_of(labels["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.cell(
        0,
        5,
        pdf.text_of(f"{labels['customer']}: {customer_name} ({customer_id})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        5,
        pdf.text_of(f"{labels['as_of']} {format_date(statement.as_of, local)}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    widths = (50, 30, 35, 35, 30) if statement.include_penalties else (60, 35, 45, 45)
    headers = [labels["invoice"], labels["due"], labels["amount"], labels["open"]]
    if statement.include_penalties:
        headers.append(labels["interest"])
    pdf.set_font("helvetica", "B", 9)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 6, pdf.text_of(header), border=1)
    pdf.ln()
    pdf.set_font("helvetica", "", 9)
    for item in statement.lines:
        cells = [
            item.invoice_number,
            format_date(item.due_date, local, "medium"),
            format_money(item.amount, item.currency, local),
            format_money(item.open_amount, item.currency, local),
        ]
        if statement.include_penalties:
            interest = format_money(item.interest, item.currency, local)
            cells.append(interest if item.handled is None else "-")
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, pdf.text_of(text), border=1)
        pdf.ln()
        if item.platform is not None:  # where a public body's invoice is on its platform
            pdf.set_font("helvetica", "", 8)
            pdf.cell(
                sum(widths),
                5,
                pdf.text_of(
                    f"{item.invoice_number}: "
                    + platform_text(item.platform, language, creditor.country)
                ),
                border=1,
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font("helvetica", "", 9)
        if item.handled is not None:  # shown for completeness, never as due
            pdf.set_font("helvetica", "I", 8)
            pdf.cell(
                sum(widths),
                5,
                pdf.text_of(f"{item.invoice_number}: {format_handling(item.handled, language)}"),
                border=1,
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font("helvetica", "", 9)
    pdf.set_font("helvetica", "B", 9)
    for total in statement.totals:
        cells = [labels["total"], "", "", format_money(total.open_amount, total.currency, local)]
        if statement.include_penalties:
            cells.append(format_money(total.interest, total.currency, local))
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, pdf.text_of(text), border=1)
        pdf.ln()
    if statement.include_penalties:
        pdf.ln(4)
        pdf.set_font("helvetica", "", 9)
        if statement.annual_rate_percent is not None:
            rate = labels["rate"].format(rate=format_rate(statement.annual_rate_percent, local))
            _paragraphs(pdf, 5, pdf.text_of(rate))
        for line in statement.due_lines:  # at the contract's rate instead
            if line.contract_rate is not None:
                contract = labels["contract_rate"].format(
                    invoice=line.invoice_number, rate=format_rate(line.contract_rate, local)
                )
                _paragraphs(pdf, 5, pdf.text_of(contract))
        if statement.interest_unknown:
            _paragraphs(pdf, 5, pdf.text_of(labels["unknown"]))
    if statement.include_penalties and statement.indemnity_applies:
        indemnity = labels["indemnity"].format(
            amount=format_money(statement.indemnity, statement.indemnity_currency, local),
            count=statement.late_invoices,
        )
        _paragraphs(pdf, 5, pdf.text_of(indemnity))
    if creditor.iban:
        pdf.ln(4)
        pdf.cell(0, 5, pdf.text_of(f"IBAN {creditor.iban}  BIC {creditor.bic or ''}"))
