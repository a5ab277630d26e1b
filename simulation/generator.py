"""A synthetic, seeded ERP history: customers, invoices, payments, credit notes, disputes.

Pure and deterministic: the same :class:`Size` and seed give the same bytes. Customers are
spread over several companies, countries, languages, segments and the seven payer profiles
of the domain; each profile has its own way of paying (on time, late, partially, by direct
debit, never), of disputing and of answering calls. The history starts ``Size.history_days``
before the first simulated day (those documents form the opening balance, streamed on day
0) and runs for ``Size.days`` simulated days; :attr:`History.timeline` holds, per simulated
day, the ERP records to publish, and :attr:`History.commands` the dispute commands a CRM
would publish that day. Some records are bad on purpose (malformed JSON, schema-invalid,
conflicting): :attr:`Record.bad` names the dead-letter reason expected for each (the
``dlq.reason`` the services give it).

Every movement on an invoice names it explicitly (a payment's allocation, a credit note's
invoice number), so the generator knows each invoice's open amount at every moment, to the
cent, without re-implementing the ledger's allocation rules.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from contracts import disputes, erp, reference
from contracts.envelope import Event
from contracts.ledger import invoice_id_of
from contracts.money import PositiveMoney
from contracts.topics import (
    DISPUTE_COMMANDS,
    ERP_CREDIT_NOTES,
    ERP_CUSTOMERS,
    ERP_INVOICES,
    ERP_PAYMENTS,
    FX_RATES,
    INTEREST_RATES,
    Topic,
)

SOURCE = "erp-simulator"
CRM = "crm-simulator"
CENT = Decimal("0.01")

Profile = Literal[
    "negligent", "bad_payer", "insolvent", "administrative", "disputer", "automatic", "good_payer"
]
PROFILES: tuple[Profile, ...] = (
    "good_payer",
    "automatic",
    "negligent",
    "bad_payer",
    "insolvent",
    "administrative",
    "disputer",
)
PROFILE_WEIGHTS = (34, 12, 24, 7, 4, 11, 8)
# How many invoices a customer of each profile receives, relatively.
VOLUME_BY_PROFILE: dict[str, float] = {
    "good_payer": 2.0,
    "automatic": 3.0,
    "negligent": 1.0,
    "bad_payer": 0.6,
    "insolvent": 0.4,
    "administrative": 0.8,
    "disputer": 0.6,
}


@dataclass(frozen=True)
class Company:
    code: str
    country: str
    currency: str


COMPANIES = (
    Company("FR01", "FR", "EUR"),
    Company("DE01", "DE", "EUR"),
    Company("ES01", "ES", "EUR"),
    Company("IT01", "IT", "EUR"),
    Company("GB01", "GB", "GBP"),
    Company("US01", "US", "USD"),
)


@dataclass(frozen=True)
class Country:
    code: str
    time_zones: tuple[str, ...]
    language: str
    dialling: str
    company: str  # the company that sells there (domestic when in the same country)


COUNTRIES = (
    Country("FR", ("Europe/Paris",), "fr", "33", "FR01"),
    Country("BE", ("Europe/Brussels",), "fr", "32", "FR01"),
    Country("DE", ("Europe/Berlin",), "de", "49", "DE01"),
    Country("NL", ("Europe/Amsterdam",), "nl", "31", "DE01"),
    Country("ES", ("Europe/Madrid",), "es", "34", "ES01"),
    Country("IT", ("Europe/Rome",), "it", "39", "IT01"),
    Country("GB", ("Europe/London",), "en", "44", "GB01"),
    Country(
        "US", ("America/New_York", "America/Chicago", "America/Los_Angeles"), "en", "1", "US01"
    ),
    Country("CH", ("Europe/Zurich",), "de", "41", "FR01"),
)
COUNTRY_WEIGHTS = (34, 6, 16, 4, 10, 9, 9, 8, 4)

# Units of EUR for one unit of the currency, valid from before the history starts.
FX_TO_EUR = {"GBP": Decimal("1.1650"), "USD": Decimal("0.9210")}

NAMES = (
    "Atelier",
    "Boulangerie",
    "Bauhaus",
    "Construcciones",
    "Ferramenta",
    "Logistics",
    "Transports",
    "Imprimerie",
    "Garage",
    "Studio",
    "Pharmacie",
    "Metalwerk",
    "Agricola",
    "Consulting",
    "Hotel",
    "Clinique",
)
SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Schmidt",
    "Garcia",
    "Rossi",
    "Smith",
    "Janssens",
    "Müller",
    "Lopez",
    "Ricci",
    "Brown",
    "Moreau",
    "Weber",
    "Fontaine",
    "De Vries",
)


@dataclass(frozen=True)
class Size:
    """How big a history to generate."""

    customers: int = 2000
    invoices: int = 20000
    days: int = 120
    history_days: int = 30
    start: date = date(2026, 1, 5)
    bad_records: int = 24
    # In a "simple" history (the system test's), each customer's invoices are all issued
    # on one day with one due date, and a dispute is resolved as rejected only when it is
    # about the customer's one invoice (else as justified), so that every invoice of a
    # customer stays at the same point of its scenario.
    simple: bool = False

    @classmethod
    def demo(cls) -> Size:
        return cls()

    @classmethod
    def small(cls) -> Size:
        return cls(
            customers=120, invoices=300, days=45, history_days=20, bad_records=9, simple=True
        )


@dataclass(frozen=True)
class Record:
    """One Kafka record to publish, and, when bad, the reason it must be dead-lettered."""

    topic: str
    key: bytes | None
    value: bytes
    kind: str
    bad: str | None = None


@dataclass
class Customer:
    customer_id: str
    company_code: str
    currency: str
    name: str
    country: str
    time_zone: str
    language: str
    profile: Profile
    customer_type: erp.CustomerType
    market: erp.Market
    risk: erp.RiskRating


@dataclass
class Invoice:
    invoice_id: str
    number: str
    customer_id: str
    company_code: str
    currency: str
    issue_day: int
    issue_date: date
    due_date: date
    amount: Decimal
    terms: str


@dataclass(frozen=True)
class Movement:
    """What reduces an invoice's open amount, on a simulated day (negative: before start)."""

    day: int
    invoice_id: str
    amount: Decimal
    kind: Literal["payment", "credit_note", "cancellation"]


@dataclass
class Dispute:
    dispute_id: uuid.UUID
    customer_id: str
    invoice_ids: tuple[str, ...]
    opened_day: int
    resolved_day: int | None
    outcome: disputes.DisputeOutcome | None


@dataclass(frozen=True)
class PromiseToPay:
    """A customer's promise to pay, recorded by the CRM on ``recorded_day``: ``broken_day``
    is the day after the grace (the disputes service's default, two days after the
    promised date) when the money has not arrived by then (None: kept, or not due yet)."""

    promise_id: uuid.UUID
    customer_id: str
    invoice_ids: tuple[str, ...]
    recorded_day: int
    promised_day: int
    broken_day: int | None


# Days after the promised date before a promise is broken (RELANCE_DISPUTES_PROMISE_GRACE_DAYS,
# whose default the system test keeps): the disputes service breaks it at the end of that
# day in the customer's time zone, seen on the next simulated day.
PROMISE_GRACE_DAYS = 2


@dataclass
class History:
    size: Size
    seed: int
    customers: dict[str, Customer]
    invoices: dict[str, Invoice]
    movements: list[Movement]
    disputes: list[Dispute]
    timeline: list[list[Record]]
    commands: list[list[Record]]
    opening_customers: list[Record]
    bad: list[Record] = field(default_factory=list)
    promises: list[PromiseToPay] = field(default_factory=list)
    _by_invoice: dict[str, list[Movement]] | None = field(default=None, repr=False)

    def day_of(self, index: int) -> date:
        return self.size.start + timedelta(days=index)

    def open_amount(self, invoice_id: str, through_day: int) -> Decimal:
        """The invoice's open amount after every movement of days <= ``through_day``."""
        invoice = self.invoices[invoice_id]
        paid = sum(
            (m.amount for m in self._movements_of().get(invoice_id, ()) if m.day <= through_day),
            Decimal(0),
        )
        return max(invoice.amount - paid, Decimal(0))

    def closed_day(self, invoice_id: str) -> int | None:
        """The day the invoice was settled or cancelled, or None while it is open."""
        invoice = self.invoices[invoice_id]
        paid = Decimal(0)
        for movement in sorted(self._movements_of().get(invoice_id, ()), key=lambda m: m.day):
            paid += movement.amount
            if movement.kind == "cancellation" or paid >= invoice.amount:
                return movement.day
        return None

    def next_payment_day(self, invoice_ids: tuple[str, ...], after_day: int) -> int | None:
        days = [
            m.day
            for i in invoice_ids
            for m in self._movements_of().get(i, ())
            if m.day > after_day and m.kind == "payment"
        ]
        return min(days) if days else None

    def _movements_of(self) -> dict[str, list[Movement]]:
        cached = self._by_invoice
        if cached is None:
            cached = defaultdict(list)
            for movement in self.movements:
                cached[movement.invoice_id].append(movement)
            self._by_invoice = cached
        return cached

    @property
    def record_count(self) -> int:
        return (
            len(self.opening_customers)
            + sum(len(d) for d in self.timeline)
            + sum(len(d) for d in self.commands)
        )


def instant(day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


class _Builder:
    def __init__(self, size: Size, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 (a seeded simulation, not secrets)
        first = -size.history_days
        self.first_day = first
        self.customers: dict[str, Customer] = {}
        self.invoices: dict[str, Invoice] = {}
        self.movements: list[Movement] = []
        self.disputes: list[Dispute] = []
        self.events: defaultdict[int, list[tuple[int, Record]]] = defaultdict(list)
        self.commands: defaultdict[int, list[Record]] = defaultdict(list)
        self.opening_customers: list[Record] = []
        self.bad: list[Record] = []
        self.promises: list[PromiseToPay] = []
        # the payment records of each invoice, for the customers whose payments
        # :meth:`commitments` replaces
        self.payments_of: defaultdict[str, list[tuple[int, Record]]] = defaultdict(list)
        self.sequence: defaultdict[str, int] = defaultdict(int)
        self.document_seq = 0

    # identifiers and helpers --------------------------------------------------------------

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def date_of(self, day: int) -> date:
        return self.size.start + timedelta(days=day)

    def money(self, amount: Decimal, currency: str) -> PositiveMoney:
        return PositiveMoney(amount=amount, currency=currency)

    def publish(self, day: int, topic: Topic, event: Event, order: int) -> Record:
        record = Record(topic.name, topic.key(event), topic.value(event), event.event_type)
        self.events[max(day, 0)].append((order, record))
        return record

    # customers ------------------------------------------------------------------------------

    def make_customers(self) -> None:
        for index in range(self.size.customers):
            country = self.rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            company = next(c for c in COMPANIES if c.code == country.company)
            profile: Profile = self.rng.choices(PROFILES, PROFILE_WEIGHTS)[0]
            customer_type: erp.CustomerType = "business"
            roll = self.rng.random()
            if (profile == "administrative" and roll < 0.5) or roll < 0.04:
                customer_type = "public_body"
            elif roll > 0.92 and profile not in ("administrative", "automatic"):
                customer_type = "consumer"
            market: erp.Market = "domestic" if country.code == company.country else "export"
            risks: dict[str, erp.RiskRating] = {
                "good_payer": "low",
                "automatic": "low",
                "negligent": "medium",
                "administrative": "low",
                "disputer": "medium",
                "bad_payer": "high",
                "insolvent": "critical",
            }
            risk = risks[profile]
            surname = self.rng.choice(SURNAMES)
            if customer_type == "consumer":
                name = f"{self.rng.choice('ABCDEFGHJKLMNPRSTV')}. {surname}"
            elif customer_type == "public_body":
                name = f"Ville de {surname}" if country.language == "fr" else f"City of {surname}"
            else:
                name = f"{self.rng.choice(NAMES)} {surname} {index}"
            customer = Customer(
                customer_id=f"C{index + 1:05d}",
                company_code=company.code,
                currency=company.currency,
                name=name,
                country=country.code,
                time_zone=self.rng.choice(country.time_zones),
                language=country.language,
                profile=profile,
                customer_type=customer_type,
                market=market,
                risk=risk,
            )
            self.customers[customer.customer_id] = customer
            slug = customer.customer_id.lower()
            number = f"+{country.dialling}{self.rng.randrange(600000000, 799999999)}"
            contacts = (
                erp.Contact(
                    role="billing",
                    name="Billing",
                    email=f"billing.{slug}@example.com",
                    phone=number,
                ),
                erp.Contact(role="accounting", email=f"ap.{slug}@example.com"),
                erp.Contact(
                    role="buyer",
                    name="Buyer",
                    email=f"buyer.{slug}@example.com",
                    phone=f"+{country.dialling}{self.rng.randrange(600000000, 799999999)}",
                ),
            )
            event = erp.CustomerUpserted(
                event_id=self.uuid(),
                occurred_at=instant(self.date_of(0), 5),
                source=SOURCE,
                payload=erp.CustomerPayload(
                    customer_id=customer.customer_id,
                    version=1,
                    company_code=company.code,
                    name=name,
                    country=country.code,
                    time_zone=customer.time_zone,
                    language=country.language,
                    contacts=contacts,
                    segment=erp.Segment(
                        customer_type=customer_type,
                        market=market,
                        risk_rating=risk,
                        payer_profile=profile,
                    ),
                ),
            )
            self.opening_customers.append(
                Record(
                    ERP_CUSTOMERS.name,
                    ERP_CUSTOMERS.key(event),
                    ERP_CUSTOMERS.value(event),
                    event.event_type,
                )
            )

    # invoices -------------------------------------------------------------------------------

    def amount_for(self, customer: Customer, heavy: bool) -> Decimal:
        if customer.customer_type == "consumer":
            median = 180.0
        elif customer.customer_type == "public_body":
            median = 6000.0
        else:
            median = 9000.0 if heavy else 1400.0
        value = self.rng.lognormvariate(0, 0.9) * median
        value = min(max(value, 25.0), 250000.0)
        return Decimal(str(round(value, 2))).quantize(CENT)

    def terms_for(self, customer: Customer, issue: date) -> tuple[str, date]:
        if customer.customer_type == "consumer":
            return "14 days", issue + timedelta(days=14)
        if customer.customer_type == "public_body":
            return "30 days (public procurement)", issue + timedelta(days=30)
        choice = self.rng.choices(("30", "45eom", "60", "15"), (50, 25, 15, 10))[0]
        if choice == "45eom":
            later = issue + timedelta(days=45)
            first_next = (later.replace(day=28) + timedelta(days=4)).replace(day=1)
            return "45 days end of month", first_next - timedelta(days=1)
        return f"{choice} days net", issue + timedelta(days=int(choice))

    def make_invoices(self) -> None:
        ids = list(self.customers)
        heavy = {c: self.rng.random() < 0.15 for c in ids}
        # invoice volume: many small invoices for some customers, a few large for others;
        # customers with many small invoices pay by direct debit or on time more often
        weights = [
            (1.0 if heavy[c] else self.rng.choice((2.0, 4.0, 8.0, 14.0)))
            * VOLUME_BY_PROFILE[self.customers[c].profile]
            for c in ids
        ]
        counts: defaultdict[str, int] = defaultdict(int)
        for customer_id in ids:  # everyone gets at least one
            counts[customer_id] += 1
        for customer_id in self.rng.choices(ids, weights, k=self.size.invoices - len(ids)):
            counts[customer_id] += 1
        every_day = range(self.first_day, self.size.days)
        for customer_id in ids:
            customer = self.customers[customer_id]
            batch_day = self.rng.randrange(-self.size.history_days, self.size.days // 2)
            billing_days = self.billing_days(every_day, heavy[customer_id])
            for _ in range(counts[customer_id]):
                day = batch_day if self.size.simple else self.rng.choice(billing_days)
                self.invoice(customer, day, heavy[customer_id])

    def billing_days(self, every_day: range, heavy: bool) -> list[int]:
        """When a customer is invoiced: any day, one weekday a week, or at month end."""
        cadence = (
            "any" if heavy else self.rng.choices(("any", "weekly", "monthly"), (15, 40, 45))[0]
        )
        if cadence == "weekly":
            weekday = self.rng.randrange(5)
            return [d for d in every_day if self.date_of(d).weekday() == weekday]
        if cadence == "monthly":
            return [d for d in every_day if self.date_of(d + 1).day == 1]
        return list(every_day)

    def invoice(self, customer: Customer, day: int, heavy: bool) -> Invoice:
        issue = self.date_of(day)
        self.sequence[customer.company_code] += 1
        number = f"INV-{issue.year}-{self.sequence[customer.company_code]:06d}"
        terms, due = self.terms_for(customer, issue)
        if self.size.simple:
            terms, due = "30 days net", issue + timedelta(days=30)
        invoice = Invoice(
            invoice_id=invoice_id_of(customer.company_code, number),
            number=number,
            customer_id=customer.customer_id,
            company_code=customer.company_code,
            currency=customer.currency,
            issue_day=day,
            issue_date=issue,
            due_date=due,
            amount=self.amount_for(customer, heavy),
            terms=terms,
        )
        self.invoices[invoice.invoice_id] = invoice
        event = erp.InvoiceIssued(
            event_id=self.uuid(),
            occurred_at=instant(issue),
            source=SOURCE,
            payload=self.invoice_payload(invoice),
        )
        self.publish(day, ERP_INVOICES, event, 1)
        return invoice

    def invoice_payload(self, invoice: Invoice, **changes: Any) -> erp.InvoicePayload:
        values: dict[str, Any] = {
            "company_code": invoice.company_code,
            "customer_id": invoice.customer_id,
            "invoice_number": invoice.number,
            "version": 1,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "amount": self.money(invoice.amount, invoice.currency),
            "payment_terms": invoice.terms,
        }
        customer = self.customers[invoice.customer_id]
        if customer.customer_type == "public_body" and customer.country == "FR":
            # a French public buyer's invoice goes through Chorus Pro: its service and the
            # buyer's commitment (no draw from the generator, so the history is unchanged)
            values["service_code"] = f"SERV-{customer.customer_id}"
            values["commitment_number"] = f"EJ-{invoice.number}"
        values.update(changes)
        return erp.InvoicePayload(**values)

    # behaviour ------------------------------------------------------------------------------

    def day_index(self, when: date) -> int:
        return (when - self.size.start).days

    def pay(self, invoice: Invoice, day: int, amount: Decimal, method: erp.PaymentMethod) -> None:
        if amount <= 0:
            return
        self.document_seq += 1
        payment_id = f"PAY-{self.document_seq:07d}"
        event = erp.PaymentReceived(
            event_id=self.uuid(),
            occurred_at=instant(self.date_of(day)),
            source=SOURCE,
            payload=erp.PaymentPayload(
                payment_id=payment_id,
                company_code=invoice.company_code,
                customer_id=invoice.customer_id,
                received_on=self.date_of(day),
                amount=self.money(amount, invoice.currency),
                method=method,
                allocations=(erp.Allocation(invoice_number=invoice.number, amount=amount),),
                reference=invoice.number,
            ),
        )
        record = self.publish(day, ERP_PAYMENTS, event, 2)
        self.payments_of[invoice.invoice_id].append((max(day, 0), record))
        self.movements.append(Movement(day, invoice.invoice_id, amount, "payment"))

    def credit(self, invoice: Invoice, day: int, amount: Decimal, reason: str) -> None:
        self.document_seq += 1
        event = erp.CreditNoteIssued(
            event_id=self.uuid(),
            occurred_at=instant(self.date_of(day)),
            source=SOURCE,
            payload=erp.CreditNotePayload(
                credit_note_number=f"CN-{self.document_seq:07d}",
                company_code=invoice.company_code,
                customer_id=invoice.customer_id,
                issue_date=self.date_of(day),
                amount=self.money(amount, invoice.currency),
                invoice_number=invoice.number,
                reason=reason,
            ),
        )
        self.publish(day, ERP_CREDIT_NOTES, event, 2)
        self.movements.append(Movement(day, invoice.invoice_id, amount, "credit_note"))

    def cancel(self, invoice: Invoice, day: int) -> None:
        event = erp.InvoiceCancelled(
            event_id=self.uuid(),
            occurred_at=instant(self.date_of(day)),
            source=SOURCE,
            payload=erp.InvoiceCancellation(
                company_code=invoice.company_code,
                customer_id=invoice.customer_id,
                invoice_number=invoice.number,
                version=2,
                reason="issued twice by mistake",
            ),
        )
        self.publish(day, ERP_INVOICES, event, 3)
        self.movements.append(Movement(day, invoice.invoice_id, invoice.amount, "cancellation"))

    def dispute(
        self,
        invoices: list[Invoice],
        opened: int,
        resolved: int | None,
        outcome: disputes.DisputeOutcome | None,
    ) -> Dispute:
        customer = self.customers[invoices[0].customer_id]
        found = Dispute(
            dispute_id=self.uuid(),
            customer_id=customer.customer_id,
            invoice_ids=tuple(i.invoice_id for i in invoices),
            opened_day=opened,
            resolved_day=resolved,
            outcome=outcome,
        )
        self.disputes.append(found)
        category = self.rng.choice(("commercial", "quality", "delivery", "pricing"))
        command: Event = disputes.OpenDispute(
            event_id=self.uuid(),
            occurred_at=instant(self.date_of(opened)),
            source=CRM,
            payload=disputes.DisputeRequest(
                dispute_id=found.dispute_id,
                customer_id=customer.customer_id,
                invoice_ids=found.invoice_ids,
                category=category,
                text=f"The customer contests the invoice ({category}).",
                raised_by="customer",
            ),
        )
        self.command(opened, command)
        if resolved is not None and outcome is not None:
            command = disputes.ResolveDispute(
                event_id=self.uuid(),
                occurred_at=instant(self.date_of(resolved)),
                source=CRM,
                payload=disputes.DisputeResolution(
                    dispute_id=found.dispute_id,
                    customer_id=customer.customer_id,
                    outcome=outcome,
                    by="sales.rep@example.com",
                ),
            )
            self.command(resolved, command)
        return found

    def command(self, day: int, event: Event) -> None:
        topic = DISPUTE_COMMANDS
        self.commands[day].append(
            Record(topic.name, topic.key(event), topic.value(event), event.event_type)
        )

    def behave(self) -> None:
        last = self.size.days - 1
        invoices_of: Counter[str] = Counter(i.customer_id for i in self.invoices.values())
        for invoice in sorted(self.invoices.values(), key=lambda i: (i.issue_day, i.number)):
            customer = self.customers[invoice.customer_id]
            due = self.day_index(invoice.due_date)
            rng = self.rng
            if not self.size.simple and rng.random() < 0.004:
                self.cancel(invoice, invoice.issue_day + rng.randint(1, 10))
                continue
            profile = customer.profile
            if (profile == "disputer" and rng.random() < 0.3) or rng.random() < 0.02:
                opened = max(due + rng.randint(-4, 8), invoice.issue_day + 1)
                if self.size.simple:
                    opened = max(opened, 1)
                if opened > last or opened < 0:
                    self.settle_late(invoice, due, profile)
                    continue
                resolved = opened + rng.randint(8, 30)
                outcome: disputes.DisputeOutcome
                if self.size.simple:
                    # a rejected dispute brings its invoice back into the scenario, firmer:
                    # only for a customer with this one invoice, so that a customer's
                    # invoices still move together
                    alone = invoices_of[customer.customer_id] == 1
                    outcome = "rejected" if alone and rng.random() < 0.5 else "justified"
                else:
                    outcome = "justified" if rng.random() < 0.55 else "rejected"
                if resolved > last:
                    self.dispute([invoice], opened, None, None)
                    continue
                self.dispute([invoice], opened, resolved, outcome)
                if outcome == "justified":
                    self.credit(invoice, resolved, invoice.amount, "dispute justified")
                else:
                    self.pay(invoice, resolved + rng.randint(3, 15), invoice.amount, "transfer")
                continue
            if rng.random() < 0.03 and not self.size.simple:  # a pricing error, credited
                part = (invoice.amount * Decimal(rng.choice(("0.1", "0.2", "0.5")))).quantize(CENT)
                self.credit(invoice, invoice.issue_day + rng.randint(2, 20), part, "pricing error")
                self.settle_late(invoice, due, profile, already=part)
                continue
            self.settle_late(invoice, due, profile)

    def settle_late(
        self, invoice: Invoice, due: int, profile: Profile, already: Decimal = Decimal(0)
    ) -> None:
        rng = self.rng
        remaining = invoice.amount - already
        method: erp.PaymentMethod = "transfer"
        if profile == "automatic":
            delay, method = 0, "direct_debit"
        elif profile == "good_payer":
            delay = rng.randint(-6, 2)
        elif profile == "negligent":
            delay = int(rng.triangular(-3, 35, 4))
        elif profile == "bad_payer":
            delay = int(rng.triangular(5, 95, 35))
        elif profile == "administrative":
            delay = int(rng.triangular(10, 90, 45))
        elif profile == "disputer":
            delay = int(rng.triangular(0, 60, 20))
        else:  # insolvent: an immediate part, the rest much later, or never
            first = (remaining * Decimal(rng.choice(("0.2", "0.3", "0.4")))).quantize(CENT)
            self.pay(invoice, due + rng.randint(2, 20), first, "transfer")
            remaining -= first
            delay = int(rng.triangular(30, 200, 120))
        day = max(due + delay, invoice.issue_day + 1)
        if profile in ("negligent", "bad_payer") and rng.random() < 0.25 and remaining > 100:
            part = (remaining / 2).quantize(CENT, rounding=ROUND_HALF_UP)  # half now, half later
            self.pay(invoice, day, part, method)
            remaining -= part
            day += rng.randint(7, 30)
        self.pay(invoice, day, remaining, method)

    # promises and rejected disputes (simple histories) ---------------------------------------

    def commitments(self) -> None:
        """Some customers' payments replaced by a promise kept, a promise broken, or a
        dispute of all their invoices that is rejected.

        A promise covers every invoice of the customer and their whole amount; it is kept
        when the money arrives by the promised date, broken when it arrives only after the
        grace (or never): dunning resumes then, firmer. A rejected dispute of all of a
        customer's invoices resumes them together, firmer, before they are paid. Only
        customers with no dispute so far, so that their invoices still move together. A
        random stream of its own, so that the rest of the history stays as it was.
        """
        main, self.rng = self.rng, random.Random(f"{self.seed}:commitments")  # noqa: S311
        try:
            self._commitments()
        finally:
            self.rng = main

    def _commitments(self) -> None:
        rng = self.rng
        last = self.size.days - 1
        disputed = {c for d in self.disputes for c in (d.customer_id,)}
        invoices_of: defaultdict[str, list[Invoice]] = defaultdict(list)
        for invoice in sorted(self.invoices.values(), key=lambda i: i.number):
            invoices_of[invoice.customer_id].append(invoice)
        eligible = [
            c
            for c in sorted(self.customers)
            if c not in disputed
            and self.customers[c].profile not in ("good_payer", "automatic")
            and invoices_of[c]
        ]
        rng.shuffle(eligible)
        wanted = {"broken": 6, "kept": 3, "rejected": 3}
        for customer_id in eligible:
            invoices = invoices_of[customer_id]
            due = self.day_index(invoices[0].due_date)
            first = max(invoices[0].issue_day + 1, 1)
            kind = next((k for k, n in wanted.items() if n > 0), None)
            if kind is None:
                return
            if kind == "rejected":
                opened = max(due + rng.randint(-2, 8), first)
                resolved = opened + rng.randint(8, 16)
                if resolved > last - 3:
                    continue
                self.replace_payments(invoices)
                self.dispute(invoices, opened, resolved, "rejected")
                paid = resolved + rng.randint(3, 15)
            else:
                recorded = max(due + rng.randint(3, 10), first)
                promised = recorded + rng.randint(3, 7)
                broken = promised + PROMISE_GRACE_DAYS + 1
                if (kind == "broken" and broken > last - 2) or promised > last:
                    continue
                self.replace_payments(invoices)
                self.promise(invoices, recorded, promised, broken if kind == "broken" else None)
                if kind == "kept":
                    paid = rng.randint(recorded + 1, promised)
                elif self.customers[customer_id].profile == "insolvent" or rng.random() < 0.25:
                    paid = last + 1  # never, within the run
                else:
                    paid = broken + rng.randint(1, 20)
            wanted[kind] -= 1
            for invoice in invoices:
                self.pay(invoice, paid, invoice.amount, "transfer")

    def replace_payments(self, invoices: list[Invoice]) -> None:
        """Forget the payments generated for ``invoices`` (records and movements)."""
        ids = {i.invoice_id for i in invoices}
        for invoice_id in ids:
            for day, record in self.payments_of.pop(invoice_id, []):
                left = [(o, r) for o, r in self.events[day] if r is not record]
                if left:
                    self.events[day] = left
                else:
                    del self.events[day]
        self.movements = [m for m in self.movements if m.invoice_id not in ids]

    def promise(
        self, invoices: list[Invoice], recorded: int, promised: int, broken: int | None
    ) -> None:
        customer = self.customers[invoices[0].customer_id]
        found = PromiseToPay(
            promise_id=self.uuid(),
            customer_id=customer.customer_id,
            invoice_ids=tuple(i.invoice_id for i in invoices),
            recorded_day=recorded,
            promised_day=promised,
            broken_day=broken,
        )
        self.promises.append(found)
        total = sum((i.amount for i in invoices), Decimal(0))
        command = disputes.RecordPromise(
            event_id=self.uuid(),
            occurred_at=instant(self.date_of(recorded)),
            source=CRM,
            payload=disputes.Promise(
                promise_id=found.promise_id,
                customer_id=customer.customer_id,
                invoice_ids=found.invoice_ids,
                promised_date=self.date_of(promised),
                amount=self.money(total, customer.currency),
                channel="phone_call",
                recorded_by="collector.simulated@example.com",
            ),
        )
        self.command(recorded, command)

    # bad records ----------------------------------------------------------------------------

    def make_bad(self) -> None:
        """Malformed, schema-invalid and conflicting records, spread over busy days."""
        kinds = (
            "malformed",
            "negative_amount",
            "due_before_issue",
            "unknown_field",
            "invoice_conflict",
            "document_conflict",
            "currency_mismatch",
        )
        touched_early = {  # invoices that something closes or reduces the day after issue
            m.invoice_id
            for m in self.movements
            if m.day <= self.invoices[m.invoice_id].issue_day + 1
        }
        candidates = sorted(
            (
                i
                for i in self.invoices.values()
                if 1 <= i.issue_day < self.size.days - 2 and i.invoice_id not in touched_early
            ),
            key=lambda i: i.invoice_id,
        )
        payments = sorted(
            (
                r
                for day, records in self.events.items()
                if 1 <= day < self.size.days - 2
                for _, r in records
                if r.topic == ERP_PAYMENTS.name
            ),
            key=lambda r: r.value,
        )
        for n in range(self.size.bad_records):
            kind = kinds[n % len(kinds)]
            invoice = candidates[self.rng.randrange(len(candidates))]
            day = invoice.issue_day + 1
            topic = ERP_INVOICES
            key: bytes | None = invoice.customer_id.encode()
            if kind == "malformed":
                value = b'{"event_id": "' + str(self.uuid()).encode() + b'", "payload": {'
                reason = "malformed_json"
            elif kind in ("negative_amount", "due_before_issue", "unknown_field"):
                data = json.loads(
                    ERP_INVOICES.value(
                        erp.InvoiceIssued(
                            event_id=self.uuid(),
                            occurred_at=instant(self.date_of(day)),
                            source=SOURCE,
                            payload=self.invoice_payload(invoice, invoice_number=f"BAD-{n:04d}"),
                        )
                    )
                )
                if kind == "negative_amount":
                    data["payload"]["amount"]["amount"] = "-120.00"
                    reason = "non_positive_amount"
                elif kind == "due_before_issue":
                    data["payload"]["due_date"] = str(invoice.issue_date - timedelta(days=3))
                    reason = "due_before_issue"
                else:
                    data["payload"]["colour"] = "blue"
                    reason = "schema_invalid"
                value = json.dumps(data).encode()
            elif kind == "invoice_conflict":  # same number and version, another amount
                event = erp.InvoiceIssued(
                    event_id=self.uuid(),
                    occurred_at=instant(self.date_of(day)),
                    source=SOURCE,
                    payload=self.invoice_payload(
                        invoice, amount=self.money(invoice.amount + 1, invoice.currency)
                    ),
                )
                value = ERP_INVOICES.value(event)
                reason = "invoice_conflict"
            elif kind == "currency_mismatch":  # a credit note in another currency
                other = "CHF" if invoice.currency != "CHF" else "EUR"
                self.document_seq += 1
                credit = erp.CreditNoteIssued(
                    event_id=self.uuid(),
                    occurred_at=instant(self.date_of(day)),
                    source=SOURCE,
                    payload=erp.CreditNotePayload(
                        credit_note_number=f"CN-{self.document_seq:07d}",
                        company_code=invoice.company_code,
                        customer_id=invoice.customer_id,
                        issue_date=self.date_of(day),
                        amount=self.money(Decimal("10.00"), other),
                        invoice_number=invoice.number,
                    ),
                )
                topic = ERP_CREDIT_NOTES
                value = ERP_CREDIT_NOTES.value(credit)
                reason = "currency_mismatch"
            else:  # document_conflict: a payment id again, with another amount
                if not payments:
                    continue
                original = payments[self.rng.randrange(len(payments))]
                data = json.loads(original.value)
                data["event_id"] = str(self.uuid())
                amount = Decimal(data["payload"]["amount"]["amount"]) + 5
                data["payload"]["amount"]["amount"] = format(amount, "f")
                received = date.fromisoformat(data["payload"]["received_on"])
                day = self.day_index(received) + 1
                topic = ERP_PAYMENTS
                key = original.key
                value = json.dumps(data).encode()
                reason = "document_conflict"
            record = Record(topic.name, key, value, f"bad:{kind}", bad=reason)
            self.bad.append(record)
            self.events[day].append((9, record))

    def make_duplicates(self) -> None:
        """A few records delivered twice, as connectors do: the ledger applies them once."""
        days = sorted(d for d in self.events if 0 < d < self.size.days)
        for _ in range(max(3, self.size.invoices // 500)):
            day = self.rng.choice(days)
            order, record = self.rng.choice(self.events[day])
            if record.bad is None:
                self.events[day].append((order + 10, record))

    def fx(self) -> None:
        valid_on = self.date_of(self.first_day - 5)
        for currency, rate in sorted(FX_TO_EUR.items()):
            event = reference.FxRatePublished(
                event_id=self.uuid(),
                occurred_at=instant(valid_on),
                source="treasury",
                payload=reference.FxRate(
                    base_currency=currency, quote_currency="EUR", rate=rate, valid_on=valid_on
                ),
            )
            self.events[0].append(
                (
                    0,
                    Record(
                        FX_RATES.name, FX_RATES.key(event), FX_RATES.value(event), event.event_type
                    ),
                )
            )

    def interest_rates(self) -> None:
        """The reference interest rates of the repository's file, as the treasury loads them
        with `relance reference-rates load-interest-rates`: statements compute late interest
        by the creditor's law from them."""
        from pathlib import Path

        from services.runtime.reference_rates import interest_rate_event, parse_interest_rates

        path = Path(__file__).resolve().parents[1] / "reference" / "interest-rates.csv"
        loaded_at = instant(self.date_of(self.first_day - 5))
        for rate in parse_interest_rates(path.read_text(encoding="utf-8")):
            event = interest_rate_event(rate, loaded_at)
            self.events[0].append(
                (
                    0,
                    Record(
                        INTEREST_RATES.name,
                        INTEREST_RATES.key(event),
                        INTEREST_RATES.value(event),
                        event.event_type,
                    ),
                )
            )

    def build(self) -> History:
        self.make_customers()
        self.make_invoices()
        self.behave()
        if self.size.simple:
            self.commitments()
        self.make_bad()
        self.make_duplicates()
        self.fx()
        self.interest_rates()
        # Movements after the last simulated day never happen within the run.
        last = self.size.days - 1
        self.movements = [m for m in self.movements if m.day <= last]
        timeline = [
            [r for _, r in sorted(self.events.get(day, []), key=lambda p: p[0])]
            for day in range(self.size.days)
        ]
        commands = [list(self.commands.get(day, [])) for day in range(self.size.days)]
        return History(
            size=self.size,
            seed=self.seed,
            customers=self.customers,
            invoices=self.invoices,
            movements=self.movements,
            disputes=[d for d in self.disputes if d.opened_day <= last],
            timeline=timeline,
            commands=commands,
            opening_customers=self.opening_customers,
            bad=self.bad,
            promises=self.promises,
        )


def generate(size: Size, seed: int = 42) -> History:
    """The history of ``size``, the same for the same seed."""
    return _Builder(size, seed).build()
