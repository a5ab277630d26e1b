"""Notices: emails that are not dunning reminders.

Seven kinds: six decided by the disputes service, one by the scheduler:

- ``promise_confirmation`` and ``plan_confirmation``: every agreement, a promise to pay or a
  payment plan, whatever the channel it was made on (a call, a visit, an email, the
  customer's page), is confirmed in writing to the customer's billing contacts (DOMAIN.md:
  every agreement is confirmed in writing); the letter says how it was made;
- ``plan_refusal``: a payment plan the customer proposed on the portal and that a credit
  manager refused (with the reason, told to the customer) or that lapsed undecided is told
  to the customer's billing contacts; the invoices' reminders resume;
- ``owner_reminder``: the internal owner of an overdue dispute is reminded, at the address
  configured for their role (or the named owner's), the manager copied when escalated;
- ``owner_assignment``: the internal owner of a dispute is told at once when it is opened
  (by the customer on the portal, from the CRM or on a collector's call) or reopened, at the
  same address as their reminders: the customer, the invoices and their amounts, the
  category, the customer's words, the due date and the signed link to the dispute's page;
- ``proposal_reminder``: the collectors (the address of the ``collector`` role) are reminded,
  a business day before its deadline, of a proposal nobody decided yet (the scheduler's
  semi-automatic mode); cancelled when it is decided first;
- ``announced_payment_unconfirmed``: a payment a provider announced (a card payment or a
  direct debit on the portal) that the ERP did not confirm in time, or that the provider
  reported failed, is brought to the account's owners: the collectors (``collector``),
  the accounting team (``accounting_team``) copied, who reconcile the ERP's postings. It says
  which invoices, how much, announced when and by which provider.

The consumer records a notice (its id derived from the promise, the plan or the owner reminder, so a
replayed event records nothing twice); the ``notices`` loop sends it outside any consumer
transaction like the dispatcher does: claim under a lease, send, record the outcome. The
message, its recipients and its outcome stay in ``notices`` as proof.

A notice to a customer (an agreement's confirmation) obeys the same controls as a reminder: it
is held while the customer's company is suspended and waits for the customer's sending
window on a business day. An owner reminder or assignment goes to internal staff and obeys
neither; it carries the owner's signed link to the dispute's page on the portal
(``DisputeLinks``) when links are configured, where they answer, attach a document or
resolve the dispute.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts import disputes, dunning
from services.notifier import queries
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.companies import Companies
from services.notifier.composing.composer import SAMPLE_CREDITOR
from services.notifier.composing.mime import build_message
from services.notifier.composing.rendering import Creditor, RenderedEmail, TemplateCatalogue
from services.notifier.dispatcher import retry_delay
from services.notifier.domain.sending_time import Place, next_window_instant
from services.notifier.errors import DeliveryError, UnknownCompany
from services.notifier.metrics import WINDOW_WAITS
from services.notifier.settings import NotifierSettings
from services.runtime.clock import Clock
from services.runtime.consumer import UnitOfWork
from services.runtime.database import TRANSIENT_ERRORS, Pool
from services.runtime.logs import get_logger
from services.runtime.loops import every
from services.runtime.signed_links import DisputeLinks

log = get_logger(__name__)
NOTICE_TEMPLATES = Path(__file__).parent / "notice_templates"
INTERNAL_KINDS = frozenset(
    {"owner_reminder", "owner_assignment", "proposal_reminder", "announced_payment_unconfirmed"}
)
"""Notices to the creditor's own staff: neither the customer's window nor a suspension."""
NOTICE_NAMESPACE = uuid.UUID("9d2c6a1e-4f0b-4c7e-8a35-2b1f0e7d6c93")


def notice_id_of(kind: str, subject_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(NOTICE_NAMESPACE, f"{kind}/{subject_id}")


CUSTOMER_NOTICES = frozenset({"promise_confirmation", "plan_confirmation", "plan_refusal"})


async def record_promise(work: UnitOfWork, promise: disputes.Promise) -> None:
    """Every promise gets its written confirmation, whatever the channel it was made on."""
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("promise_confirmation", promise.promise_id),
        "promise_confirmation",
        promise.customer_id,
        promise.model_dump(mode="json"),
        work.clock.now(),
    )


async def record_plan(work: UnitOfWork, plan: disputes.PaymentPlan) -> None:
    """Every payment plan gets its written confirmation: its instalments, their dates."""
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("plan_confirmation", plan.plan_id),
        "plan_confirmation",
        plan.customer_id,
        plan.model_dump(mode="json"),
        work.clock.now(),
    )


async def record_plan_refusal(work: UnitOfWork, refused: disputes.RefusedPaymentPlan) -> None:
    """A payment plan the customer proposed, refused (with the credit manager's reason) or
    lapsed undecided, is told to the customer in writing, not only on their page."""
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("plan_refusal", refused.proposal_id),
        "plan_refusal",
        refused.customer_id,
        refused.model_dump(mode="json"),
        work.clock.now(),
    )


async def record_owner_reminder(work: UnitOfWork, reminder: disputes.OwnerReminder) -> None:
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("owner_reminder", reminder.reminder_id),
        "owner_reminder",
        reminder.customer_id,
        reminder.model_dump(mode="json"),
        work.clock.now(),
    )


def owner_assignment_facts(
    dispute: disputes.OpenedDispute | disputes.ReopenedDispute, items: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """What a dispute's owner is told when it opens (or reopens): ``items`` are the disputed
    invoices' amounts as the notifier knows them when the event arrives (a snapshot: the
    email says what was disputed, not what is open when it is sent)."""
    known = {str(item["invoice_id"]): item for item in items}
    # a whole account: the invoices it names, then every other open item of the customer
    invoice_ids = list(
        dict.fromkeys([*dispute.invoice_ids, *(known if dispute.whole_account else ())])
    )
    invoices = [
        {
            "invoice_id": invoice_id,
            "currency": known[invoice_id]["currency"] if invoice_id in known else None,
            "amount": str(known[invoice_id]["amount"]) if invoice_id in known else None,
            "open_amount": str(known[invoice_id]["open_amount"]) if invoice_id in known else None,
        }
        for invoice_id in invoice_ids
    ]
    facts: dict[str, Any] = {
        "dispute_id": str(dispute.dispute_id),
        "customer_id": dispute.customer_id,
        "invoice_ids": list(dispute.invoice_ids),
        "whole_account": dispute.whole_account,
        "invoices": invoices,
        "owner_role": dispute.owner_role,
        "owner": dispute.owner,
        "due_date": dispute.due_date.isoformat(),
    }
    if isinstance(dispute, disputes.OpenedDispute):
        return {
            **facts,
            "reopened": False,
            "category": dispute.category,
            "text": dispute.text,
            "raised_by": dispute.raised_by,
            "attachments": len(dispute.attachments),
            "reopened_by": None,
        }
    return {
        **facts,
        "reopened": True,
        "category": None,
        "text": dispute.reason,
        "raised_by": None,
        "attachments": 0,
        "reopened_by": dispute.by,
    }


async def record_owner_assignment(
    work: UnitOfWork,
    dispute: disputes.OpenedDispute | disputes.ReopenedDispute,
    event_id: uuid.UUID,
) -> None:
    """The dispute's owner is told once that it was opened for them (its id derived from
    the dispute), and once per reopening (derived from the reopening event, so that a
    redelivered one records nothing twice)."""
    subject = dispute.dispute_id if isinstance(dispute, disputes.OpenedDispute) else event_id
    items = await work.connection.fetch(
        queries.DISPUTED_ITEMS,
        dispute.customer_id,
        list(dispute.invoice_ids),
        dispute.whole_account,
    )
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("owner_assignment", subject),
        "owner_assignment",
        dispute.customer_id,
        owner_assignment_facts(dispute, [dict(item) for item in items]),
        work.clock.now(),
    )


PROVIDER_NAMES = {"stripe": "Stripe", "gocardless": "GoCardless"}


def unconfirmed_payment_facts(broken: disputes.BrokenPromise) -> dict[str, Any]:
    """What the owners' alert about an announced payment says (no customer's text)."""
    provider, _, reference = (broken.announced_by or "").partition(":")
    return {
        "provider_name": PROVIDER_NAMES.get(provider, provider or "?"),
        "promise_id": str(broken.promise_id),
        "customer_id": broken.customer_id,
        "invoice_ids": list(broken.invoice_ids),
        "amount": str(broken.amount.amount),
        "currency": broken.amount.currency,
        "received": str(broken.received.amount),
        "announced_on": broken.promised_date.isoformat(),
        "provider": provider or "unknown",
        "provider_reference": reference or None,
        "failure": broken.failure,
    }


async def record_unconfirmed_payment(work: UnitOfWork, broken: disputes.BrokenPromise) -> None:
    """The account's owners learn that a payment a provider announced did not become an ERP
    payment (in time, or at all: the provider reported it failed)."""
    await work.connection.execute(
        queries.RECORD_NOTICE,
        notice_id_of("announced_payment_unconfirmed", broken.promise_id),
        "announced_payment_unconfirmed",
        broken.customer_id,
        unconfirmed_payment_facts(broken),
        work.clock.now(),
    )


PROPOSAL_OUTCOMES = {
    "send": ("sent as proposed", "envoyé tel que proposé"),
    "skip": ("skipped", "écarté"),
    "hold": ("kept waiting for a decision", "maintenu en attente d'une décision"),
}


def proposal_facts(proposal: dunning.Proposal) -> dict[str, Any]:
    """What the collectors' reminder about a waiting proposal says (no customer's text)."""
    reminder = proposal.reminder
    outcome, outcome_fr = PROPOSAL_OUTCOMES[proposal.on_timeout]
    return {
        "proposal_id": str(proposal.proposal_id),
        "version": proposal.version,
        "customer_id": proposal.customer_id,
        "scenario_id": reminder.scenario_id,
        "step_name": reminder.step_name,
        "channel": reminder.channel,
        "recipient_role": reminder.recipient_role,
        "invoice_ids": [i.invoice_id for i in reminder.invoices],
        "deadline": proposal.deadline.date().isoformat(),
        "outcome": outcome,
        "outcome_fr": outcome_fr,
        "edited_by": proposal.edited_by,
    }


async def record_proposal_reminder(work: UnitOfWork, proposal: dunning.Proposal) -> None:
    """The collectors are reminded of a waiting proposal a business day before its deadline;
    a new version (an edit) keeps the reminder's day and makes it describe that version."""
    await work.connection.execute(
        queries.RECORD_PROPOSAL_NOTICE,
        notice_id_of("proposal_reminder", proposal.proposal_id),
        "proposal_reminder",
        proposal.customer_id,
        proposal_facts(proposal),
        work.clock.now(),
        proposal.remind_owner_at,
    )


async def cancel_proposal_reminder(work: UnitOfWork, proposal_id: uuid.UUID) -> None:
    await work.connection.execute(
        queries.CANCEL_NOTICE, notice_id_of("proposal_reminder", proposal_id)
    )


@dataclass(frozen=True)
class Composed:
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str


def _sample(creditor: Creditor) -> dict[str, Any]:
    return {
        "creditor": creditor,
        "customer": {"name": "Sample & Co", "id": "C0", "contact_name": "Sam"},
        "promise": {
            "amount": Decimal("1234.56"),
            "currency": "EUR",
            "promised_date": date(2026, 1, 31),
            "invoice_ids": ("FR01/F1",),
            "recorded_by": "collector@example.com",
            "channel": "phone_call",
            "kind": "promise",
        },
        "plan": {
            "currency": "EUR",
            "total": Decimal("1200.00"),
            "instalments": (
                {"due_date": date(2026, 1, 31), "amount": Decimal("600.00")},
                {"due_date": date(2026, 2, 28), "amount": Decimal("600.00")},
            ),
            "invoice_ids": ("FR01/F1",),
            "agreed_on": date(2026, 1, 10),
            "agreed_by": "collector@example.com",
        },
        "refusal": {
            "invoice_ids": ("FR01/F1",),
            "refused_on": date(2026, 1, 12),
            "reason": "Two instalments at most for this amount.",
            "expired": False,
        },
        "reminder": disputes.OwnerReminder(
            reminder_id=uuid.UUID(int=1),
            dispute_id=uuid.UUID(int=2),
            customer_id="C0",
            invoice_ids=("FR01/F1",),
            owner_role="sales",
            due_date=date(2026, 1, 31),
            firmness="urgent",
            escalated_to_manager=True,
        ),
        "link": "https://portal.example.com/portal/dispute/sample-token",
        "assignment": {
            "dispute_id": str(uuid.UUID(int=2)),
            "whole_account": False,
            "invoices": [
                {
                    "invoice_id": "FR01/F1",
                    "currency": "EUR",
                    "amount": Decimal("1200.00"),
                    "open_amount": Decimal("1180.00"),
                },
                {"invoice_id": "FR01/F2", "currency": None, "amount": None, "open_amount": None},
            ],
            "totals": [("EUR", Decimal("1180.00"))],
            "owner_role": "sales",
            "owner": None,
            "due_date": date(2026, 1, 31),
            "reopened": False,
            "category": "quality",
            "text": "The <pallets> arrived damaged & wet.",
            "raised_by": "portal",
            "attachments": 1,
            "reopened_by": None,
        },
        "proposal": {
            "proposal_id": str(uuid.UUID(int=3)),
            "version": 2,
            "customer_id": "C0",
            "scenario_id": "negligent",
            "step_name": "friendly",
            "channel": "email",
            "recipient_role": "billing",
            "invoice_ids": ["FR01/F1"],
            "deadline": date(2026, 1, 31),
            "outcome": "sent as proposed",
            "outcome_fr": "envoyé tel que proposé",
            "edited_by": "local:marie",
        },
        "payment": {
            "promise_id": str(uuid.UUID(int=4)),
            "invoice_ids": ["FR01/F1", "FR01/F2"],
            "amount": Decimal("1180.00"),
            "currency": "EUR",
            "received": Decimal("0"),
            "announced_on": date(2026, 1, 31),
            "provider": "gocardless",
            "provider_name": "GoCardless",
            "provider_reference": "PM000123",
            "failure": "failed: insufficient_funds",
        },
    }


class NoticeComposer:
    """Renders notices with their own checked template sets (``notice_templates/``)."""

    def __init__(
        self,
        settings: NotifierSettings,
        directory: Path = NOTICE_TEMPLATES,
        owner_links: DisputeLinks | None = None,
    ) -> None:
        self.settings = settings
        self.owner_links = owner_links
        self.companies = Companies(settings.companies)
        self.catalogue = TemplateCatalogue.load(directory, _sample(SAMPLE_CREDITOR))

    def _creditor(
        self, kind: str, payload: Mapping[str, Any], customer: Mapping[str, Any] | None
    ) -> Creditor:
        """The customer's company, else the payload's ``company_code``, else the company of
        its first invoice (``<company>/<number>``). A notice to a customer from a company
        with no identity fails for good; a notice to the creditor's own staff whose company
        is not known is signed by the installation (``email.sender``)."""
        code = customer.get("company_code") if customer else None
        if not code:
            code = payload.get("company_code")
        if not code:
            invoice_ids = payload.get("invoice_ids") or ("",)
            code = str(invoice_ids[0]).partition("/")[0]
        if code in self.companies:
            return Creditor.of(str(code), self.companies.identity_of(str(code)))
        if kind not in CUSTOMER_NOTICES:
            return Creditor(name="Relance", address=(), email=self.settings.email.sender)
        try:
            return Creditor.of(str(code), self.companies.identity_of(str(code)))
        except UnknownCompany as exc:
            raise DeliveryError(str(exc), retryable=False) from exc

    def compose(
        self, kind: str, payload: Mapping[str, Any], customer: Mapping[str, Any] | None
    ) -> Composed:
        name = customer["name"] if customer else payload["customer_id"]
        language = customer["language"] if customer else self.settings.fallback_language
        contacts: list[dict[str, Any]] = (
            json.loads(customer["contacts"]) if customer and customer["contacts"] else []
        )
        cc: tuple[str, ...] = ()
        if kind in CUSTOMER_NOTICES:
            billing = [c for c in contacts if c.get("role") == "billing" and c.get("email")]
            if not billing:
                raise DeliveryError("no email contact with role billing", retryable=False)
            to = tuple(dict.fromkeys(str(c["email"]) for c in billing))
            context: dict[str, Any] = {"contact_name": billing[0].get("name")}
            if kind == "promise_confirmation":
                promise = disputes.Promise.model_validate(payload)
                context["promise"] = {
                    "amount": promise.amount.amount,
                    "currency": promise.amount.currency,
                    "promised_date": promise.promised_date,
                    "invoice_ids": promise.invoice_ids,
                    "recorded_by": promise.recorded_by,
                    "channel": promise.channel,
                    # a provider's announced payment is acknowledged, not confirmed as a
                    # commitment: the templates say so
                    "kind": promise.kind,
                }
            elif kind == "plan_refusal":
                refused = disputes.RefusedPaymentPlan.model_validate(payload)
                context["refusal"] = {
                    "invoice_ids": refused.invoice_ids,
                    "refused_on": refused.refused_on,
                    "reason": None if refused.expired else refused.reason,
                    "expired": refused.expired,
                }
            else:
                plan = disputes.PaymentPlan.model_validate(payload)
                context["plan"] = {
                    "currency": plan.instalments[0].amount.currency,
                    "total": sum((i.amount.amount for i in plan.instalments), Decimal(0)),
                    "instalments": tuple(
                        {"due_date": i.due_date, "amount": i.amount.amount}
                        for i in plan.instalments
                    ),
                    "invoice_ids": plan.invoice_ids,
                    "agreed_on": plan.agreed_on,
                    "agreed_by": plan.agreed_by,
                }
        elif kind == "proposal_reminder":
            collectors = self.settings.internal_addresses.get("collector")
            if collectors is None:
                raise DeliveryError(
                    "no address for role collector (RELANCE_NOTIFIER_INTERNAL_ADDRESSES)",
                    retryable=False,
                )
            to = (collectors,)
            language = self.settings.internal_language
            facts = {**payload, "deadline": date.fromisoformat(payload["deadline"])}
            context = {"proposal": facts, "contact_name": None}
        elif kind == "announced_payment_unconfirmed":
            collectors = self.settings.internal_addresses.get("collector")
            if collectors is None:
                raise DeliveryError(
                    "no address for role collector (RELANCE_NOTIFIER_INTERNAL_ADDRESSES)",
                    retryable=False,
                )
            to = (collectors,)
            accounting = self.settings.internal_addresses.get("accounting_team")
            cc = (accounting,) if accounting and accounting != collectors else ()
            language = self.settings.internal_language
            facts = {
                **payload,
                "amount": Decimal(payload["amount"]),
                "received": Decimal(payload["received"]),
                "announced_on": date.fromisoformat(payload["announced_on"]),
            }
            context = {"payment": facts, "contact_name": None}
        elif kind == "owner_assignment":
            to = (self._owner_address(payload.get("owner"), payload["owner_role"]),)
            language = self.settings.internal_language
            link = (
                self.owner_links.url(uuid.UUID(payload["dispute_id"])) if self.owner_links else None
            )
            context = {"assignment": assignment_view(payload), "contact_name": None, "link": link}
        else:
            reminder = disputes.OwnerReminder.model_validate(payload)
            to, cc = self._owner_addresses(reminder)
            language = self.settings.internal_language
            # the owner's page on the portal, scoped to this dispute: they answer, attach or
            # resolve it there without an API key (none when links are not configured)
            link = self.owner_links.url(reminder.dispute_id) if self.owner_links else None
            context = {"reminder": reminder, "contact_name": None, "link": link}
        key = self.catalogue.resolve((kind,), language, self.settings.fallback_language)
        rendered = self.catalogue.render(
            key,
            {
                "creditor": self._creditor(kind, payload, customer),
                "customer": {
                    "name": name,
                    "id": payload["customer_id"],
                    "contact_name": context.pop("contact_name"),
                },
                **context,
            },
        )
        return Composed(to, cc, rendered.subject, rendered.text, rendered.html)

    def _owner_addresses(
        self, reminder: disputes.OwnerReminder
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        to = self._owner_address(reminder.owner, reminder.owner_role)
        manager = self.settings.internal_addresses.get("manager")
        cc = (manager,) if reminder.escalated_to_manager and manager and manager != to else ()
        return (to,), cc

    def _owner_address(self, owner: str | None, role: str) -> str:
        """The named owner's address when they were named by it, else their role's."""
        addresses = {str(r): a for r, a in self.settings.internal_addresses.items()}
        to = owner if owner and "@" in owner else addresses.get(role)
        if to is None:
            raise DeliveryError(
                f"no address for role {role} (RELANCE_NOTIFIER_INTERNAL_ADDRESSES)",
                retryable=False,
            )
        return to


def assignment_view(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded facts as the templates use them: amounts and dates as values, the
    disputed open amount totalled per currency."""
    invoices = [
        {
            **invoice,
            "amount": None if invoice["amount"] is None else Decimal(invoice["amount"]),
            "open_amount": (
                None if invoice["open_amount"] is None else Decimal(invoice["open_amount"])
            ),
        }
        for invoice in payload["invoices"]
    ]
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        if invoice["currency"] is not None:
            totals[invoice["currency"]] = (
                totals.get(invoice["currency"], Decimal(0)) + invoice["open_amount"]
            )
    return {
        **payload,
        "invoices": invoices,
        "totals": sorted(totals.items()),
        "due_date": date.fromisoformat(payload["due_date"]),
    }


class NoticeSender:
    """Sends recorded notices by email, one at a time, with retries and a lease."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        settings: NotifierSettings,
        composer: NoticeComposer,
        smtp: SmtpChannel,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.settings = settings
        self.composer = composer
        self.smtp = smtp
        self.rng = rng or random.Random()  # noqa: S311 (retry jitter, not a secret)
        # the last claim found no notice due: ask first (one statement, no transaction)
        self._idle = False

    async def run(self, stop: asyncio.Event) -> None:
        """Send notices until ``stop``; sleep when none is due or the database is away."""
        loop = every(
            lambda: self.settings.dispatch_interval_s,
            self.send_once,
            name="notices",
            tolerate=TRANSIENT_ERRORS,
        )
        await loop(stop)

    async def send_all(self) -> int:
        sent = 0
        while await self.send_once():
            sent += 1
        return sent

    async def send_once(self) -> bool:
        now = self.clock.now()
        if self._idle and not await self.pool.fetchval(queries.ANY_NOTICE_DUE, now):
            return False
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(queries.CLAIM_NOTICE, now)
            self._idle = row is None
            if row is None:
                return False
            if row["kind"] not in INTERNAL_KINDS:  # to a customer: only in their window
                place = (
                    Place(row["country"], row["time_zone"])
                    if row["country"] and row["time_zone"]
                    else Place(self.settings.default_country, self.settings.default_time_zone)
                )
                later = next_window_instant(now, place, self.settings.sending_window)
                if later is not None:
                    await connection.execute(queries.NOTICE_WAIT, row["notice_id"], later)
                    WINDOW_WAITS.labels("notifier", "notice").inc()
                    return True
            payload = json.loads(row["payload"])
            customer = await connection.fetchrow(queries.NOTICE_CUSTOMER, row["customer_id"])
            try:
                composed = self.composer.compose(
                    row["kind"], payload, None if customer is None else dict(customer)
                )
            except DeliveryError as exc:
                await connection.execute(queries.NOTICE_FAILED, row["notice_id"], str(exc))
                log.warning("notice_failed", kind=row["kind"], error=str(exc))
                return True
            lease = now + timedelta(seconds=self.settings.sending_lease_s)
            await connection.execute(
                queries.NOTICE_SENDING,
                row["notice_id"],
                lease,
                [*composed.to, *composed.cc],
                composed.subject,
                composed.text,
            )
        await self._send(row["notice_id"], row["attempts"] + 1, composed, now)
        return True

    async def _send(
        self, notice_id: uuid.UUID, attempt: int, composed: Composed, now: datetime
    ) -> None:
        message = build_message(
            sender=self.settings.email.sender,
            to=composed.to,
            cc=composed.cc,
            rendered=RenderedEmail(composed.subject, composed.text, composed.html),
            message_id=f"<notice-{notice_id}@{self.settings.email.message_id_domain}>",
            sent_at=now,
        )
        try:
            await self.smtp.send(message)
        except DeliveryError as exc:
            if exc.retryable and attempt < self.settings.max_attempts:
                delay = retry_delay(
                    attempt, self.settings.retry_base_s, self.settings.retry_max_s, self.rng
                )
                await self.pool.execute(
                    queries.NOTICE_RETRY, notice_id, now + timedelta(seconds=delay), str(exc)
                )
            else:
                await self.pool.execute(queries.NOTICE_FAILED, notice_id, str(exc))
            return
        await self.pool.execute(queries.NOTICE_SENT, notice_id, self.clock.now())
