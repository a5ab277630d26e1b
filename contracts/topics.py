"""The registry of Relance's topics: names, event unions, keys and dead-letter topics.

Every topic is versioned (``.v1``) and keyed by the customer's id, so that one customer's
events stay ordered on one partition. The one exception is reference data that is about no
customer (exchange rates, interest rates): its topic names another key with ``key_field``.
A record that cannot be applied goes to the topic's dead-letter topic, ``<name>.dlq``, with
its original bytes and headers and a reason.

No topic is compacted: compaction keeps only the last record of each key, and a customer's
key carries many different facts (one per invoice, payment, reminder). State lives in each
service's PostgreSQL schema; retention only bounds how far back a consumer can replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import TypeAdapter

from contracts import commands, disputes, dunning, erp, ledger, notifications, reference
from contracts.envelope import Event

DLQ_SUFFIX = ".dlq"
CUSTOMER_KEY = "payload.customer_id"

_DAY_MS = 24 * 60 * 60 * 1000


def _retained(days: int | None) -> dict[str, str]:
    """Topic configuration for a deleted (never compacted) topic kept ``days``, or forever."""
    retention_ms = -1 if days is None else days * _DAY_MS
    return {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}


@dataclass(frozen=True)
class Topic:
    """One Kafka topic and the events it carries."""

    name: str
    union: Any  # an Annotated discriminated union of Event subclasses
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int = 6
    retention: str = "7 days; ledger state lives in PostgreSQL"
    extra_config: dict[str, str] = field(default_factory=dict)
    # Dotted attribute path from an event to its Kafka key; every customer topic keeps the
    # default, a topic about no customer names another attribute.
    key_field: str = CUSTOMER_KEY

    @property
    def dead_letter(self) -> str:
        return self.name + DLQ_SUFFIX

    @cached_property
    def adapter(self) -> TypeAdapter[Event]:
        return TypeAdapter(self.union)

    def parse(self, value: bytes) -> Event:
        """Validate one record's value; raises ``pydantic.ValidationError``."""
        return self.adapter.validate_json(value)

    def key(self, event: Event) -> bytes:
        """The record's Kafka key: the attribute at ``key_field``, by default the customer's id;
        a payload that concerns no single customer (a suspension) names its own
        ``partition_key``."""
        own = getattr(event.payload, "partition_key", None)
        if isinstance(own, str):
            return own.encode()
        value: Any = event
        for name in self.key_field.split("."):
            value = getattr(value, name)
        return str(value).encode()

    @staticmethod
    def value(event: Event) -> bytes:
        return event.model_dump_json().encode()


_ERP_RETENTION = (
    "7 days, deleted: ingestion applies the documents to the ledger in PostgreSQL at once, "
    "and a connector can republish from the ERP"
)

ERP_CUSTOMERS = Topic(
    name="erp.customers.v1",
    union=erp.ErpCustomerEvent,
    description="Customer master data from the ERPs.",
    producers=("erp",),
    consumers=("ingestion",),
    partitions=12,
    retention=_ERP_RETENTION,
    extra_config=_retained(7),
)
ERP_INVOICES = Topic(
    name="erp.invoices.v1",
    union=erp.ErpInvoiceEvent,
    description="Invoices issued, corrected and cancelled in the ERPs.",
    producers=("erp",),
    consumers=("ingestion", "portal"),  # the portal keeps each invoice's copy reference
    partitions=12,
    retention=_ERP_RETENTION,
    extra_config=_retained(7),
)
ERP_PAYMENTS = Topic(
    name="erp.payments.v1",
    union=erp.ErpPaymentEvent,
    description="Payments received, with or without explicit allocations.",
    producers=("erp",),
    consumers=("ingestion",),
    partitions=12,
    retention=_ERP_RETENTION,
    extra_config=_retained(7),
)
ERP_CREDIT_NOTES = Topic(
    name="erp.credit-notes.v1",
    union=erp.ErpCreditNoteEvent,
    description="Credit notes, against an invoice or left as customer credit.",
    producers=("erp",),
    consumers=("ingestion",),
    partitions=12,
    retention=_ERP_RETENTION,
    extra_config=_retained(7),
)

ERP_TOPICS: tuple[Topic, ...] = (ERP_CUSTOMERS, ERP_INVOICES, ERP_PAYMENTS, ERP_CREDIT_NOTES)


LEDGER_EVENTS = Topic(
    name="ledger.events.v1",
    union=ledger.LedgerEvent,
    description=(
        "The normalized ledger: customers, invoices opened, open amounts changed, invoices "
        "settled or cancelled, credit balances."
    ),
    producers=("ingestion",),
    consumers=("scheduler", "notifier", "disputes", "reporting", "portal", "console"),
    partitions=12,
    retention=(
        "forever: reporting is rebuilt by replaying the public topics from the beginning, "
        "so the facts it projects are kept (tiered storage keeps old segments cheap)"
    ),
    extra_config=_retained(None),
)
DUNNING_ACTIONS = Topic(
    name="dunning.actions.v1",
    union=dunning.DunningEvent,
    description=(
        "Reminders due (grouped per customer), escalations out of the amicable phase, and "
        "each invoice's dunning state."
    ),
    producers=("scheduler",),
    consumers=("notifier", "reporting", "console"),
    partitions=12,
    retention=(
        "forever: reporting rebuilds dunning states and step effectiveness from it; the "
        "notifier keeps every delivery and its proof in PostgreSQL"
    ),
    extra_config=_retained(None),
)
NOTIFIER_DELIVERIES = Topic(
    name="notifier.deliveries.v1",
    union=notifications.DeliveryEvent,
    description="What became of each reminder (sent, delivered, bounced, failed, suppressed) "
    "and the outcomes of call tasks.",
    producers=("notifier",),
    consumers=("scheduler", "disputes", "reporting", "console"),
    partitions=6,
    retention=(
        "forever: reporting measures what followed each sent reminder from it; the proof "
        "archive lives in the notifier's PostgreSQL schema"
    ),
    extra_config=_retained(None),
)
DISPUTE_COMMANDS = Topic(
    name="disputes.commands.v1",
    union=disputes.DisputeCommand,
    description=(
        "Requests to open, resolve or reopen a dispute, record a promise to pay or agree a "
        "payment plan, from the CRM, the customers' portal and the scheduler (a promise or a "
        "dispute from a call a collector logged); the disputes service's HTTP API decides its "
        "commands itself, without this topic."
    ),
    # console: a credit manager's acceptance or refusal of a plan a customer proposed
    producers=("crm", "portal", "scheduler", "console"),
    consumers=("disputes",),
    partitions=3,
    retention=(
        "30 days, deleted: a few commands per customer and month; the disputes service keeps "
        "what it decided"
    ),
    extra_config=_retained(30),
)
DISPUTE_EVENTS = Topic(
    name="disputes.events.v1",
    union=disputes.DisputeEvent,
    description=(
        "Disputes opened, resolved and reopened, owner reminders, promises to pay and payment "
        "plans: what pauses and resumes dunning."
    ),
    producers=("disputes",),
    consumers=("scheduler", "notifier", "reporting", "portal", "console"),
    partitions=6,
    retention=(
        "forever: reporting rebuilds disputes, promises and plans from it; the disputes "
        "service keeps them in PostgreSQL"
    ),
    extra_config=_retained(None),
)
DUNNING_COMMANDS = Topic(
    name="dunning.commands.v1",
    union=commands.CollectorCommand,
    description=(
        "Collectors' commands on a customer or an invoice: hold until a date, release, send "
        "now, change the scenario, skip a step, add a note, log a call; each with its "
        "authenticated actor (the scheduler's HTTP commands API produces them too). "
        "The scheduler checks the actor's role and portfolio, executes, and announces each "
        "executed command as a dunning.command.executed on dunning.actions.v1."
    ),
    # ops: an operator's `relance scheduler hold ...`; scheduler: its HTTP commands API
    producers=("console", "crm", "ops", "scheduler"),
    consumers=("scheduler",),
    partitions=3,
    retention=(
        "30 days, deleted: a few commands per customer and day; the scheduler keeps what it "
        "executed and the audit trail lives on dunning.actions.v1"
    ),
    extra_config=_retained(30),
)
FX_RATES = Topic(
    name="reference.fx-rates.v1",
    union=reference.FxRateEvent,
    description="Daily exchange rates, for reporting in one currency.",
    producers=("ops", "erp"),  # ops: an operator's `relance report load-rates`
    # The console ranks My day across currencies with the latest rates.
    consumers=("reporting", "console"),
    partitions=1,
    retention=(
        "forever: a few hundred small records a day, and reporting rebuilds past aged "
        "balances and DSO with the rates of their day"
    ),
    extra_config=_retained(None),
    key_field="payload.pair",
)

INTEREST_RATES = Topic(
    name="reference.interest-rates.v1",
    union=reference.InterestRateEvent,
    description=(
        "Reference interest rates of late-payment law (ECB main refinancing rate, German "
        "base rate, Bank of England base rate), each in force from a day."
    ),
    producers=("ops",),  # ops: an operator loading the rates file (reference/)
    # The notifier states and claims penalties (services.runtime.late_payment) with them;
    # the console states the interest accrued on a customer's page.
    consumers=("notifier", "console"),
    partitions=1,
    retention=(
        "forever: a few records a year, and a claim for interest on an old debt needs the "
        "rates of every half-year it ran through"
    ),
    extra_config=_retained(None),
    key_field="payload.kind",
)

RELANCE_TOPICS: tuple[Topic, ...] = (
    LEDGER_EVENTS,
    DUNNING_ACTIONS,
    NOTIFIER_DELIVERIES,
    DISPUTE_COMMANDS,
    DISPUTE_EVENTS,
    DUNNING_COMMANDS,
    FX_RATES,
    INTEREST_RATES,
)

ALL_TOPICS: tuple[Topic, ...] = ERP_TOPICS + RELANCE_TOPICS


def by_name(name: str) -> Topic:
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(f"no topic named {name!r} in contracts.topics")
