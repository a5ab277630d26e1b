"""Composing a reminder's email: recipients, rendered bodies and the PDF statement."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from typing import Any

from contracts.dunning import DUNNING_LEVELS, DunnedInvoice, DunningLevel, Reminder
from contracts.erp import CustomerType
from contracts.money import PositiveMoney
from services.notifier.composing.companies import Companies
from services.notifier.composing.mime import Attachment, message_bytes, message_id_of
from services.notifier.composing.rendering import (
    Creditor,
    Medium,
    RenderedEmail,
    TemplateCatalogue,
    regional,
    render_context,
)
from services.notifier.composing.statement_pdf import statement_pdf
from services.notifier.domain.commitments import BrokenCommitment, recalled
from services.notifier.domain.penalties import OpenAmountChange, payments_after_due
from services.notifier.domain.statement import (
    Handling,
    PenaltyTerms,
    PlatformReference,
    Statement,
    statement_of,
)
from services.notifier.errors import DeliveryError, TemplateNotFound, UnknownCompany
from services.notifier.metrics import UNKNOWN_COMPANIES
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import Payment, ReferenceRate, ReferenceRates
from services.runtime.logs import get_logger

log = get_logger(__name__)
PARTIAL_LANGUAGES = ("fr", "en", "de", "es", "it")  # _partials/portal.<lang>, sms.<lang>


@dataclass(frozen=True)
class OpenItem:
    """An open invoice of the customer, as the notifier's view of the ledger has it."""

    invoice_id: str
    invoice_number: str
    due_date: date
    currency: str
    amount: Decimal
    open_amount: Decimal
    open_amount_changes: str = "[]"  # JSON: value_date, before, after, as consumed
    service_code: str | None = None  # a public body's references on the e-invoicing platform
    commitment_number: str | None = None
    late_interest_rate: Decimal | None = None  # percent a year, as the contract states it

    def payments(self) -> tuple[Payment, ...]:
        """What reduced the open amount after the due date, by value date (see
        ``penalties.payments_after_due``)."""
        changes = (
            OpenAmountChange(
                date.fromisoformat(c["value_date"]),
                Decimal(str(c["before"])),
                Decimal(str(c["after"])),
            )
            for c in json.loads(self.open_amount_changes)
        )
        return payments_after_due(changes, self.due_date, self.open_amount)


@dataclass(frozen=True)
class CustomerView:
    """The customer at send time: contacts, open items, what is handled elsewhere, type."""

    name: str
    language: str
    contacts: tuple[dict[str, Any], ...]
    open_items: tuple[OpenItem, ...] = ()
    handled: Mapping[str, Handling] = field(default_factory=dict)
    customer_type: CustomerType = "business"
    broken: tuple[BrokenCommitment, ...] = ()

    @classmethod
    def of_row(
        cls,
        name: str,
        language: str,
        contacts: str,
        open_items: tuple[OpenItem, ...] = (),
        *,
        handled: Mapping[str, Handling] | None = None,
        customer_type: CustomerType = "business",
        broken: tuple[BrokenCommitment, ...] = (),
    ) -> CustomerView:
        return cls(
            name,
            language,
            tuple(json.loads(contacts)),
            open_items,
            handled or {},
            customer_type,
            broken,
        )


@dataclass(frozen=True)
class Recipients:
    to: tuple[str, ...]
    cc: tuple[str, ...]
    contact_name: str | None


def recipients_of(
    customer: CustomerView, role: str, level: DunningLevel, cc_levels: tuple[DunningLevel, ...]
) -> Recipients:
    """The contacts in the reminder's role; the others copied at the levels that ask for it."""
    to = [c for c in customer.contacts if c.get("role") == role and c.get("email")]
    if not to:
        raise DeliveryError(f"no email contact with role {role}", retryable=False)
    addresses = tuple(dict.fromkeys(str(c["email"]) for c in to))
    cc: tuple[str, ...] = ()
    if level in cc_levels:
        others = (str(c["email"]) for c in customer.contacts if c.get("email"))
        cc = tuple(dict.fromkeys(a for a in others if a not in addresses))
    return Recipients(addresses, cc, to[0].get("name"))


@dataclass(frozen=True)
class Rendering:
    rendered: RenderedEmail
    language: str
    statement: Statement

    @property
    def subject(self) -> str:
        return self.rendered.subject

    @property
    def text(self) -> str:
        return self.rendered.text


@dataclass(frozen=True)
class ComposedEmail:
    """A composed email: its exact bytes (``as_bytes()``'s, line ends ``\\n``), recipients
    and Message-ID; :attr:`message` is the same message parsed, for what reads it."""

    content: bytes
    recipients: Recipients
    message_id: str

    @cached_property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class EmailComposer:
    """Renders reminders with the checked template catalogue and the creditor's settings."""

    def __init__(
        self,
        settings: NotifierSettings,
        catalogue: TemplateCatalogue,
        rate_book: RateBook | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.companies = Companies(settings.companies)
        self.rate_book = rate_book if rate_book is not None else RateBook()

    @classmethod
    def load(cls, settings: NotifierSettings, rate_book: RateBook | None = None) -> EmailComposer:
        """Load and check every template against a sample; raise at start if one fails.

        ``rate_book``: the reference interest rates the notifier keeps (none: statements
        leave interest out and say so)."""
        catalogue = TemplateCatalogue.load(settings.templates_dir, sample_context(SAMPLE_CREDITOR))
        if not settings.companies:
            log.warning(
                "no_creditor_identity",
                detail="no company configured (RELANCE_NOTIFIER_COMPANIES_FILE): every "
                "reminder will fail",
            )
        for lang in PARTIAL_LANGUAGES:  # the interactive email's block and the SMS, checked too
            for kind in ("txt", "html"):
                catalogue.render_partial(
                    f"_partials/portal.{lang}.{kind}",
                    {
                        "portal_url": "https://portal.example/p/x",
                        "expires_on": date(2026, 1, 31),
                        "lang": lang,
                    },
                )
            catalogue.render_partial(
                f"_partials/sms.{lang}.txt",
                {"subject": "Relance", "totals": "1 200,00 EUR", "contact": "+33 1 00 00 00 00"},
            )
        return cls(settings, catalogue, rate_book)

    def creditor_for(self, company_code: str) -> Creditor:
        """The identity of ``company_code``; a company with none fails the delivery for
        good, with its reason, and is counted: never another company's name."""
        try:
            identity = self.companies.identity_of(company_code)
        except UnknownCompany as exc:
            UNKNOWN_COMPANIES.labels("notifier", company_code).inc()
            log.error("unknown_company", company_code=company_code, reason=str(exc))
            raise DeliveryError(str(exc), retryable=False) from exc
        return Creditor.of(company_code, identity)

    def terms_for(self, company_code: str) -> PenaltyTerms:
        """The late-payment law of ``company_code``: the country of its identity."""
        return PenaltyTerms(self.creditor_for(company_code).country, self.rate_book.rates)

    def _statement(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        as_of: date,
    ) -> Statement:
        statement = statement_of(
            invoices,
            as_of,
            reminder.include_penalties,
            self.terms_for(reminder.company_code),
            handled=customer.handled,
            customer_type=customer.customer_type,
            payments={item.invoice_id: item.payments() for item in customer.open_items},
            references={
                item.invoice_id: PlatformReference(item.service_code, item.commitment_number)
                for item in customer.open_items
                if item.service_code is not None or item.commitment_number is not None
            },
            contract_rates={
                item.invoice_id: item.late_interest_rate
                for item in customer.open_items
                if item.late_interest_rate is not None
            },
        )
        if statement.include_penalties and statement.warnings:
            log.warning(
                "penalties_incomplete",
                reminder_id=str(reminder.reminder_id),
                company_code=reminder.company_code,
                interest_left_out=statement.interest_unknown,
                reasons=list(statement.warnings),
            )
        return statement

    def compose(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
        *,
        portal: tuple[str, date] | None = None,
    ) -> ComposedEmail:
        """The reminder's email; ``portal`` (link, valid until) adds the customer's link."""
        recipients = recipients_of(
            customer,
            reminder.recipient_role,
            reminder.level,
            self.settings.email.cc_other_contacts_levels,
        )
        rendering = self.render_reminder(
            reminder, invoices, customer, now, contact_name=recipients.contact_name
        )
        statement, language, rendered = rendering.statement, rendering.language, rendering.rendered
        if portal is not None:
            rendered = self._with_portal(rendered, language, *portal)
        pdf = statement_pdf(
            creditor=self.creditor_for(reminder.company_code),
            customer_name=customer.name,
            customer_id=reminder.customer_id,
            language=language,
            statement=self.account_statement(reminder, invoices, customer, now) or statement,
            created_at=now,
        )
        message_id = message_id_of(
            reminder.reminder_id, reminder.channel, self.settings.email.message_id_domain
        )
        content = message_bytes(
            sender=self.settings.email.sender,
            to=recipients.to,
            cc=recipients.cc,
            rendered=rendered,
            message_id=message_id,
            sent_at=now,
            attachments=(Attachment(f"statement-{statement.as_of.isoformat()}.pdf", pdf),),
        )
        return ComposedEmail(content, recipients, message_id)

    def account_statement(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Statement | None:
        """The customer's whole open account for the attached PDF, drawn at send time.

        The lines come from the notifier's own view of the ledger (every open invoice,
        reminded or not); the reminder's invoices found settled or cancelled since it was
        decided are left out, the others appear as the reminder states them. An invoice
        under an open dispute, an active promise or a payment plan is shown marked and
        counts toward no total, interest or indemnity. None when the view has nothing more
        than the reminder's invoices.
        """
        if not customer.open_items:
            return None
        dropped = {i.invoice_id for i in reminder.invoices} - {i.invoice_id for i in invoices}
        reminded = {i.invoice_id: i for i in invoices}
        account = tuple(
            reminded.get(item.invoice_id) or _dunned_item(item, now)
            for item in customer.open_items
            if (item.invoice_id not in dropped or item.invoice_id in customer.handled)
            and item.open_amount > 0
        )
        if {i.invoice_id for i in account} <= set(reminded):
            return None
        return self._statement(reminder, account, customer, now.date())

    def _with_portal(
        self, rendered: RenderedEmail, language: str, link: str, valid_until: date
    ) -> RenderedEmail:
        lang = language if language in PARTIAL_LANGUAGES else "en"
        context = {"portal_url": link, "expires_on": valid_until, "lang": lang}
        text = self.catalogue.render_partial(f"_partials/portal.{lang}.txt", context)
        html = self.catalogue.render_partial(f"_partials/portal.{lang}.html", context)
        body = rendered.html
        at = body.rfind("</body>")
        body = body[:at] + html + body[at:] if at >= 0 else body + html
        return RenderedEmail(subject=rendered.subject, text=rendered.text + text, html=body)

    def render_reminder(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
        *,
        contact_name: str | None = None,
        medium: Medium = "email",
    ) -> Rendering:
        """Render the reminder's template set for ``invoices``: subject, text and HTML
        (``medium`` ``letter``: the text of a letter, see ``render_context``)."""
        statement = self._statement(reminder, invoices, customer, now.date())
        try:
            key = self.catalogue.resolve_reminder(
                reminder.template,
                reminder.level,
                reminder.language,
                self.settings.fallback_language,
            )
        except TemplateNotFound as exc:
            raise DeliveryError(str(exc), retryable=False) from exc
        creditor = self.creditor_for(reminder.company_code)
        context = render_context(
            creditor=creditor,
            customer_name=customer.name,
            customer_id=reminder.customer_id,
            level=reminder.level,
            language=regional(key[1], creditor.country),
            statement=statement,
            contact_name=contact_name,
            medium=medium,
            notice_days=creditor.notice_days,
            broken=recalled(customer.broken, (i.invoice_id for i in invoices)),
            customer_type=customer.customer_type,
        )
        return Rendering(self.catalogue.render(key, context), key[1], statement)


def _dunned_item(item: OpenItem, now: datetime) -> DunnedInvoice:
    return DunnedInvoice(
        invoice_id=item.invoice_id,
        invoice_number=item.invoice_number,
        due_date=item.due_date,
        amount=PositiveMoney(amount=item.amount, currency=item.currency),
        open_amount=PositiveMoney(amount=item.open_amount, currency=item.currency),
        days_overdue=(now.date() - item.due_date).days,
    )


SAMPLE_CREDITOR = Creditor(
    name="Sample <Creditor> & Cie SAS",
    address=("1 rue de l'Exemple", "75002 Paris", "France"),
    email="credit@example.com",
    phone="+33 1 00 00 00 00",
    registration="RCS Paris 000 000 000",
    iban="FR76 0000 0000 0000 0000 0000 000",
    bic="EXAMPLEXXX",
    code="FR01",
    country="FR",
    city="Paris",
    vat_number="FR00000000000",
    return_address=("1 rue de l'Exemple", "75002 Paris", "France"),
    signatory_name="Sam Sample",
    signatory_title="Credit manager",
)
"""The creditor every template is checked against when the catalogue is loaded."""


SAMPLE_RATES = ReferenceRates((ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),))


SAMPLE_BROKEN = (
    BrokenCommitment(
        "promise",
        "FR01/SAMPLE-1",
        date(2026, 1, 20),
        Decimal("1200.00"),
        "EUR",
        made_on=date(2026, 1, 12),
    ),
    BrokenCommitment(
        "instalment",
        "FR01/SAMPLE-2",
        date(2026, 2, 5),
        Decimal("50.00"),
        "USD",
        made_on=date(2026, 1, 10),
        instalment_number=2,
    ),
)
"""A broken promise and a missed instalment: the recall's every branch."""


def sample_statement() -> Statement:
    """Two late invoices in two currencies, with penalties, one with a public body's
    platform references and its contract's interest rate: every branch of a template."""
    invoices = (
        DunnedInvoice(
            invoice_id="FR01/SAMPLE-1",
            invoice_number="SAMPLE-1",
            due_date=date(2026, 1, 15),
            amount=PositiveMoney(amount=Decimal("1200.00"), currency="EUR"),
            open_amount=PositiveMoney(amount=Decimal("700.00"), currency="EUR"),
            days_overdue=30,
        ),
        DunnedInvoice(
            invoice_id="FR01/SAMPLE-2",
            invoice_number="SAMPLE-2",
            due_date=date(2026, 1, 31),
            amount=PositiveMoney(amount=Decimal("99.90"), currency="USD"),
            open_amount=PositiveMoney(amount=Decimal("99.90"), currency="USD"),
            days_overdue=14,
        ),
    )
    return statement_of(
        invoices,
        date(2026, 2, 14),
        True,
        PenaltyTerms("FR", SAMPLE_RATES),
        references={"FR01/SAMPLE-2": PlatformReference("SERV-<01>", "EJ & 2026")},
        contract_rates={"FR01/SAMPLE-2": Decimal("12.50")},
    )


def sample_context(creditor: Creditor) -> dict[str, Any]:
    return render_context(
        creditor=creditor,
        customer_name="Sample <Customer> & Co",
        customer_id="C-SAMPLE",
        level=DUNNING_LEVELS[1],
        language="en",
        statement=sample_statement(),
        contact_name="Sample Contact",
        broken=SAMPLE_BROKEN,
    )
