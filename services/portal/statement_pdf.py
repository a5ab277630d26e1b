"""The customer's statement of account as a PDF (fpdf2), from the portal's read model.

One document per request, in the customer's language: the invoicing company's identity (logo,
legal name, address, registration and VAT numbers), the customer, every open invoice per
currency with its status and the currency's total (amounts are never added across
currencies), and what was received recently (payments and credit notes). Text is drawn in
DejaVu Sans (Debian's fonts-dejavu-core), embedded and subset by fpdf2, so that any name, the
euro sign and Babel's narrow no-break spaces print as they are.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF

from services.portal import i18n
from services.portal.branding import CompanyBrand
from services.portal.domain.account import Account, InvoiceLine

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT = "dejavu"
# invoice, issued, due, amount, open, status: 180 mm, the A4 page less its margins
WIDTHS = (28.0, 22.0, 22.0, 30.0, 30.0, 48.0)


@dataclass(frozen=True)
class Receipt:
    """A payment or credit note received on one of the customer's invoices."""

    received_on: date
    cause: str
    invoice_number: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Issuer:
    """Who the statement is from: the branded company, or just its name."""

    name: str
    company: CompanyBrand | None = None
    logo: bytes | None = None


class _Statement(FPDF):
    def __init__(self, words: dict[str, str], language: str, today: date) -> None:
        super().__init__(format="A4")
        self.words = words
        self.language = language
        self.today = today
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        for style, file in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
            self.add_font(FONT, style, str(DEJAVU / file))
        self.set_creation_date(datetime(today.year, today.month, today.day, tzinfo=UTC))

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 7)
        footer = self.word("statement_footer", date=i18n.day(self.today, self.language))
        self.multi_cell(0, 3.5, footer, align="L")

    def word(self, key: str, **values: object) -> str:
        return self.words[key].format(**values)


def _status(line: InvoiceLine, pdf: _Statement) -> str:
    text = pdf.word(f"status_{line.status}")
    if line.status == "overdue":
        text += f" ({pdf.word('days_late', days=line.days_late)})"
    return text


def statement_pdf(
    *,
    issuer: Issuer,
    customer_name: str,
    account: Account,
    receipts: Sequence[Receipt],
    language: str,
    today: date,
    recent_days: int,
) -> bytes:
    language = i18n.language_of(language)
    pdf = _Statement(i18n.WORDS[language], language, today)
    pdf.set_title(f"{pdf.word('statement_title')} {customer_name}")
    pdf.set_author(issuer.name)
    pdf.add_page()

    def money(amount: Decimal, currency: str) -> str:
        return i18n.money(amount, currency, language)

    def day(value: date) -> str:  # short in the table's columns (31/12/2026, 31.12.26)
        return str(format_date(value, format="short", locale=i18n.LOCALES[language]))

    # the invoicing company: logo on the right, identity on the left
    if issuer.logo is not None:
        pdf.image(  # within 40 x 15 mm at the top right, whatever its proportions
            io.BytesIO(issuer.logo),
            x=pdf.w - pdf.r_margin - 40,
            y=pdf.t_margin,
            w=40,
            h=15,
            keep_aspect_ratio=True,
        )
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(120, 6, issuer.name, align="L", new_x="LMARGIN", new_y="NEXT")  # long names wrap
    pdf.set_font(FONT, "", 9)
    company = issuer.company
    if company is not None:
        lines = list(company.address)
        if company.registration:
            lines.append(company.registration)  # as written: "RCS Lyon 900 000 002"
        if company.vat_number:
            lines.append(f"{pdf.word('vat_number')} {company.vat_number}")
        lines.extend(x for x in (company.email, company.phone) if x)
        for text in lines:
            pdf.multi_cell(120, 4.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + 18) + 8)

    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 8, pdf.word("statement_title"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(
        0,
        5,
        f"{pdf.word('statement_customer')}: {customer_name}",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        5,
        pdf.word("statement_as_of", date=i18n.day(today, language)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)

    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 7, pdf.word("open_invoices"), new_x="LMARGIN", new_y="NEXT")
    if not account.balances:
        pdf.set_font(FONT, "", 10)
        pdf.cell(0, 6, pdf.word("statement_nothing_open"), new_x="LMARGIN", new_y="NEXT")
    heads = (
        pdf.word("col_invoice"),
        pdf.word("statement_issued"),
        pdf.word("col_due"),
        pdf.word("statement_amount"),
        pdf.word("col_open"),
        pdf.word("col_status"),
    )
    for balance in account.balances:
        pdf.ln(2)
        pdf.set_font(FONT, "B", 8)
        for width, head, align in zip(WIDTHS, heads, "LLLRRL", strict=True):
            pdf.cell(width, 6, head, border="B", align=align)
        pdf.ln()
        pdf.set_font(FONT, "", 8)
        for line in balance.lines:
            invoice = line.invoice
            cells = (
                invoice.invoice_number,
                day(invoice.issue_date),
                day(invoice.due_date),
                money(invoice.amount, invoice.currency),
                money(invoice.open_amount, invoice.currency),
                _status(line, pdf),
            )
            for width, text, align in zip(WIDTHS, cells, "LLLRRL", strict=True):
                pdf.cell(width, 5.5, _fit(pdf, text, width), align=align)
            pdf.ln()
        pdf.set_font(FONT, "B", 9)
        pdf.cell(
            sum(WIDTHS[:4]),
            6,
            pdf.word("statement_total", currency=balance.currency),
            border="T",
        )
        pdf.cell(WIDTHS[4], 6, money(balance.open_total, balance.currency), border="T", align="R")
        pdf.cell(WIDTHS[5], 6, "", border="T", new_x="LMARGIN", new_y="NEXT")
        if balance.overdue_total:
            pdf.set_font(FONT, "", 8)
            pdf.cell(sum(WIDTHS[:4]), 5, pdf.word("overdue_total"))
            pdf.cell(
                WIDTHS[4],
                5,
                money(balance.overdue_total, balance.currency),
                align="R",
                new_x="LMARGIN",
                new_y="NEXT",
            )

    pdf.ln(6)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 7, pdf.word("statement_received", days=recent_days), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    if not receipts:
        pdf.cell(
            0, 5, pdf.word("nothing_received", days=recent_days), new_x="LMARGIN", new_y="NEXT"
        )
    for receipt in receipts:
        pdf.cell(40, 5, day(receipt.received_on))
        pdf.cell(
            70, 5, _fit(pdf, f"{pdf.word('cause_' + receipt.cause)} · {receipt.invoice_number}", 70)
        )
        pdf.cell(
            40,
            5,
            money(receipt.amount, receipt.currency),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit a cell ``width`` mm wide (with its padding)."""
    room = width - 2 * pdf.c_margin
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def statement_file_name(word: str, today: date) -> str:
    """The download's name in the customer's language, e.g. ``releve-2026-12-06.pdf``."""
    return f"{word}-{today.isoformat()}.pdf"
