"""A reminder as a paper letter: letterhead, recipient in the envelope's window, place and
date, references, subject, the text, the signatory, page numbers; the statement follows.

The layout depends on the creditor company's country (docs/notifier.md, Letters):

- **France** (``RIGHT_WINDOW``): the recipient's block on the right, 50 mm from the top
  edge and 100 mm from the left (11 cm from the right edge: the AFNOR recommendation for
  the French window envelopes), inside a 100 x 45 mm window from 45 mm; the address itself
  as NF Z10-011 writes it (at most six lines, seven abroad with the country last, the last
  lines in capitals, left-aligned).
- **Everywhere else** (``DIN_5008_B``): DIN 5008 form B, the left-window layout of the
  DL and C5/6 window envelopes (DIN 680): an address field 85 x 45 mm, 20 mm from the left
  and 45 mm from the top, its first 17.7 mm for the return address and the registered
  mention, then 27.3 mm (six lines) for the recipient; information block at 125 mm; fold
  marks at 105 and 210 mm.

Drawn in DejaVu Sans, embedded and subset (``statement_pdf.Document``): the euro sign, and a
name in Polish, Czech or Turkish printed as written (core fonts only if the font files are
missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel import Locale

from services.notifier.composing.rendering import Creditor, format_date, regional
from services.notifier.composing.statement_pdf import (
    LABELS,
    Document,
    creditor_texts,
    draw_statement,
    lines_for,
)
from services.notifier.domain.statement import Statement

MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in mm from the top-left corner."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True)
class LetterLayout:
    name: str
    window: Box  # the envelope's window over the folded sheet
    return_zone: Box  # the return address and the registered mention, small
    recipient: Box  # the recipient's block (inside the window)
    info_left: float  # where place, date and references start
    info_top: float
    subject_top: float
    text_left: float
    text_right: float = 20.0
    fold_marks: tuple[float, ...] = ()


RIGHT_WINDOW = LetterLayout(
    name="France: AFNOR window envelope, address per NF Z10-011",
    window=Box(100, 45, 100, 45),
    return_zone=Box(105, 45.5, 85, 4),
    recipient=Box(105, 50.5, 85, 38),
    info_left=105,
    info_top=95,
    subject_top=112,
    text_left=20,
)
DIN_5008_B = LetterLayout(
    name="DIN 5008 form B (left window, DIN 680 envelopes)",
    window=Box(20, 45, 85, 45),
    return_zone=Box(25, 46, 80, 16.7),
    recipient=Box(25, 62.7, 80, 27.3),
    info_left=125,
    info_top=50,
    subject_top=103.4,
    text_left=25,
    fold_marks=(105.0, 210.0),
)


def layout_of(country: str) -> LetterLayout:
    return RIGHT_WINDOW if country == "FR" else DIN_5008_B


LETTER_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "place_date": "{city}, le {date}",
        "customer": "Votre numéro de client : {id}",
        "invoices": "Factures : {numbers}",
        "subject": "Objet : {subject}",
        "registered": "Lettre recommandée avec accusé de réception",
        "page": "Page {page} / {pages}",
    },
    "en": {
        "place_date": "{city}, {date}",
        "customer": "Your customer number: {id}",
        "invoices": "Invoices: {numbers}",
        "subject": "{subject}",
        "registered": "By recorded delivery",
        "page": "Page {page} of {pages}",
    },
    "de": {
        "place_date": "{city}, {date}",
        "customer": "Ihre Kundennummer: {id}",
        "invoices": "Rechnungen: {numbers}",
        "subject": "{subject}",  # DIN 5008: the subject in bold, without the word Betreff
        "registered": "Einschreiben mit Rückschein",
        "page": "Seite {page} von {pages}",
    },
    "es": {
        "place_date": "{city}, {date}",
        "customer": "Su número de cliente: {id}",
        "invoices": "Facturas: {numbers}",
        "subject": "Asunto: {subject}",
        "registered": "Carta certificada con acuse de recibo",
        "page": "Página {page} de {pages}",
    },
    "it": {
        "place_date": "{city}, {date}",
        "customer": "Vostro codice cliente: {id}",
        "invoices": "Fatture: {numbers}",
        "subject": "Oggetto: {subject}",
        "registered": "Raccomandata con avviso di ricevimento",
        "page": "Pagina {page} di {pages}",
    },
}


@dataclass(frozen=True)
class Recipient:
    """The addressee: the customer's name, the contact's, and the postal address if any."""

    company: str
    contact: str | None = None
    lines: tuple[str, ...] = ()
    postal_code: str | None = None
    town: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, customer_name: str, address: dict[str, Any] | None) -> Recipient:
        if address is None:
            return cls(customer_name)
        return cls(
            company=customer_name,
            contact=address.get("name"),
            lines=tuple(str(line) for line in address.get("lines", ())),
            postal_code=address.get("postal_code"),
            town=address.get("town"),
            country=address.get("country"),
        )


def address_block(recipient: Recipient, creditor_country: str) -> list[str]:
    """The recipient's lines as the post reads them (NF Z10-011, DIN 5008, UPU): name,
    contact, street lines, postal code and town in capitals (town then postcode in the UK),
    the country in capitals on its own last line when abroad; six lines at most, seven
    abroad, so street lines are dropped first."""
    head = [recipient.company]
    if recipient.contact and recipient.contact != recipient.company:
        head.append(recipient.contact)
    street = [line for line in recipient.lines if line not in head]
    tail: list[str] = []
    town = (recipient.town or "").upper()
    if recipient.country == "GB":
        tail = [t for t in (town, (recipient.postal_code or "").upper()) if t]
    elif town or recipient.postal_code:
        tail = [f"{recipient.postal_code or ''} {town}".strip()]
    abroad = recipient.country is not None and recipient.country != creditor_country
    if abroad and recipient.country:
        tail.append(_country_name(recipient.country, creditor_country).upper())
    room = (7 if abroad else 6) - len(head) - len(tail)
    return head + street[: max(room, 0)] + tail


def _country_name(country: str, creditor_country: str) -> str:
    """The destination's name in the language of the sending country (UPU practice):
    ``FRANKREICH`` on a letter posted in Germany."""
    try:
        sender = Locale.parse(f"und_{creditor_country}")
    except (ValueError, LookupError):
        sender = Locale.parse("en")
    english = Locale.parse("en").territories.get(country, country)
    return str(sender.territories.get(country) or english)


class _Letter(Document):
    def __init__(
        self, creditor: Creditor, page_label: str, layout: LetterLayout, *texts: str
    ) -> None:
        super().__init__(*texts, embed_fonts=True)  # a letter: the euro sign, every name
        self.creditor = creditor
        self.page_label = page_label
        self.layout = layout

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font("helvetica", "", 7)
        legal = [self.creditor.name, self.creditor.registration, self.creditor.vat_number]
        bank = (
            f"IBAN {self.creditor.iban}"
            + (f" - BIC {self.creditor.bic}" if self.creditor.bic else "")
            if self.creditor.iban
            else None
        )
        line = " - ".join(part for part in (*legal, bank) if part)
        self.cell(0, 3.5, self.text_of(line), align="C", new_x="LMARGIN", new_y="NEXT")
        label = self.page_label.format(page=self.page_no(), pages="{nb}")
        self.cell(0, 3.5, self.text_of(label), align="R")


def letter_pdf(
    *,
    creditor: Creditor,
    customer_name: str,
    customer_id: str,
    recipient: Recipient,
    language: str,
    subject: str,
    text: str,
    statement: Statement,
    registered: bool,
    created_at: datetime,
    invoice_numbers: tuple[str, ...],
) -> bytes:
    """The letter, then the statement of open items on a page of its own; deterministic for
    the same inputs (creation date fixed to ``created_at``)."""
    lang = language if language in LETTER_LABELS else "en"
    labels = LETTER_LABELS[lang]
    layout = layout_of(creditor.country)
    texts = (
        *creditor_texts(creditor),
        customer_name,
        customer_id,
        subject,
        text,
        *address_block(recipient, creditor.country),
        *invoice_numbers,
    )
    pdf = _Letter(creditor, labels["page"], layout, *texts)
    pdf.set_creation_date(created_at)
    pdf.set_title(pdf.text_of(subject))
    pdf.set_author(pdf.text_of(creditor.name))
    pdf.set_margins(layout.text_left, 20, layout.text_right)
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_page()
    _letterhead(pdf, creditor, layout)
    _window(
        pdf, creditor, recipient, layout, language, labels["registered"] if registered else None
    )
    _fold_marks(pdf, layout)
    _information(pdf, creditor, customer_id, created_at.date(), invoice_numbers, labels, language)
    pdf.set_xy(layout.text_left, max(pdf.get_y() + 6, layout.subject_top))
    pdf.set_font("helvetica", "B", 11)
    for line in lines_for(pdf, pdf.text_of(labels["subject"].format(subject=subject))):
        pdf.cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font("helvetica", "", 10)
    for line in lines_for(pdf, pdf.text_of(text.strip() + "\n")):
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    if pdf.get_y() > pdf.h - 25 - 30:  # keep the signature block together
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(0, 5, pdf.text_of(creditor.name), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)  # room to sign
    pdf.set_font("helvetica", "", 10)
    pdf.cell(0, 5, pdf.text_of(creditor.signatory_name), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, pdf.text_of(creditor.signatory_title), new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    draw_statement(
        pdf,
        creditor=creditor,
        customer_name=customer_name,
        customer_id=customer_id,
        language=language if language in LABELS else "en",
        statement=statement,
    )
    return pdf.pdf_bytes()


def _letterhead(pdf: Document, creditor: Creditor, layout: LetterLayout) -> None:
    top = 12.0
    if creditor.logo is not None:
        pdf.image(str(creditor.logo), x=pdf.w - layout.text_right - 40, y=10, h=18)
    pdf.set_xy(layout.text_left, top)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 6, pdf.text_of(creditor.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 8.5)
    contact = " - ".join(part for part in (creditor.phone, creditor.email) if part)
    for line in (*creditor.address, contact):
        if line:
            pdf.cell(90, 4, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")


def _window(
    pdf: Document,
    creditor: Creditor,
    recipient: Recipient,
    layout: LetterLayout,
    language: str,
    registered: str | None,
) -> None:
    zone = layout.return_zone
    pdf.set_xy(zone.left, zone.top)
    sender = pdf.text_of(", ".join((creditor.name, *(creditor.return_address or creditor.address))))
    size = 6.5
    pdf.set_font("helvetica", "", size)
    while pdf.get_string_width(sender) > zone.width and size > 5:  # one line, in the window
        size -= 0.25
        pdf.set_font("helvetica", "", size)
    while pdf.get_string_width(sender) > zone.width:
        sender = sender[:-1]
    pdf.cell(zone.width, 3, sender, new_x="LEFT", new_y="NEXT")
    if registered:
        pdf.set_font("helvetica", "B", 8)
        pdf.cell(zone.width, 4, pdf.text_of(registered), new_x="LEFT", new_y="NEXT")
    box = layout.recipient
    pdf.set_xy(box.left, max(box.top, pdf.get_y() + 1))
    pdf.set_font("helvetica", "", 10)
    for line in address_block(recipient, creditor.country):
        text = pdf.text_of(line)
        while pdf.get_string_width(text) > box.width:  # never past the window's edge
            text = text[:-1]
        pdf.cell(box.width, 4.6, text, new_x="LEFT", new_y="NEXT")


def _fold_marks(pdf: Document, layout: LetterLayout) -> None:
    pdf.set_line_width(0.2)
    for y in layout.fold_marks:
        pdf.line(3, y, 8, y)


def _information(
    pdf: Document,
    creditor: Creditor,
    customer_id: str,
    day: date,
    invoice_numbers: tuple[str, ...],
    labels: dict[str, str],
    language: str,
) -> None:
    layout = pdf.layout if isinstance(pdf, _Letter) else RIGHT_WINDOW
    pdf.set_xy(layout.info_left, layout.info_top)
    pdf.set_font("helvetica", "", 9.5)
    width = pdf.w - layout.text_right - layout.info_left
    day_text = format_date(day, regional(language, creditor.country))
    place_date = labels["place_date"].format(city=creditor.city, date=day_text)
    pdf.cell(width, 5, pdf.text_of(place_date), new_x="LEFT", new_y="NEXT")
    pdf.cell(
        width, 5, pdf.text_of(labels["customer"].format(id=customer_id)), new_x="LEFT", new_y="NEXT"
    )
    numbers = ", ".join(invoice_numbers)
    pdf.multi_cell(
        width,
        5,
        pdf.text_of(labels["invoices"].format(numbers=numbers)),
        new_x="LEFT",
        new_y="NEXT",
    )
