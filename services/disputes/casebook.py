"""The use cases: commands and ledger facts applied to disputes, promises and plans.

Every method runs inside the caller's transaction (a Kafka batch's or an HTTP request's),
checks the command against the stored state first, and raises :class:`CommandRejected`
before changing anything when it cannot be applied. It returns the events to publish,
which the caller writes to the outbox in the same transaction. The Kafka consumer, the
HTTP API and the timers all go through here, so they decide the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from contracts import disputes
from contracts.disputes import CorrectionCause, Instalment
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney
from services.disputes import queries
from services.disputes.domain import commitments, rules
from services.disputes.domain.routing import ReminderPolicy, Routing, owner_reminder_id
from services.disputes.errors import CommandRejected, NotFound, VersionConflict
from services.runtime.database import Connection

SOURCE = "disputes"
EVENT_NAMESPACE = uuid.UUID("5a0f9e0c-3b7d-4f0e-8d0a-2c6e1b9f7d42")
OWNER_REMINDER_AT = time(9, 0)


def event_id(*parts: object) -> uuid.UUID:
    """Deterministic event ids: a replayed command or timer emits the same event."""
    return uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts))


@dataclass(frozen=True)
class Policy:
    routing: Routing
    reminders: ReminderPolicy
    time_zone: str = "Europe/Paris"
    promise_grace_days: int = 2
    promise_max_days: int = 90
    instalment_grace_days: int = 2
    plan_first_within_days: int = 7


def _instalments(value: Any) -> tuple[Instalment, ...]:
    return tuple(Instalment.model_validate(i) for i in value)


class Casebook:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    # Helpers ------------------------------------------------------------------------------

    async def _time_zone(self, connection: Connection, customer_id: str) -> str:
        zone = await connection.fetchval(queries.CUSTOMER_TIME_ZONE, customer_id)
        return str(zone) if zone else self.policy.time_zone

    async def _today(self, connection: Connection, customer_id: str, now: datetime) -> date:
        return now.astimezone(ZoneInfo(await self._time_zone(connection, customer_id))).date()

    async def _invoices(
        self, connection: Connection, invoice_ids: Sequence[str]
    ) -> dict[str, rules.InvoiceView]:
        rows = await connection.fetch(queries.INVOICES, list(invoice_ids))
        return {
            r["invoice_id"]: rules.InvoiceView(
                r["invoice_id"], r["customer_id"], r["currency"], r["open_amount"], r["status"]
            )
            for r in rows
        }

    @staticmethod
    async def _holders(
        connection: Connection, query: str, customer_id: str, *args: object
    ) -> dict[str, str]:
        """Invoice id -> the id of the open dispute, promise or plan holding it."""
        held: dict[str, str] = {}
        for row in await connection.fetch(query, customer_id, *args):
            for invoice_id in row["invoice_ids"]:
                held[invoice_id] = str(row[0])
        return held

    def _owner_reminder_at(self, day: date) -> datetime:
        return datetime.combine(day, OWNER_REMINDER_AT, tzinfo=ZoneInfo(self.policy.time_zone))

    @staticmethod
    async def _transition(
        connection: Connection,
        dispute_id: uuid.UUID,
        version: int,
        action: str,
        actor: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await connection.execute(
            queries.RECORD_TRANSITION, dispute_id, version, action, actor, now, detail or {}
        )

    @staticmethod
    def _check_version(row: Any, expected: int | None) -> None:
        if expected is not None and row["version"] != expected:
            raise VersionConflict(
                "version_conflict",
                f"dispute {row['dispute_id']} is at version {row['version']}, "
                f"not {expected}: read it again and retry",
            )

    # Disputes -----------------------------------------------------------------------------

    async def open_dispute(
        self, connection: Connection, now: datetime, request: disputes.DisputeRequest, actor: str
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.DISPUTE, request.dispute_id)
        if existing is not None:
            if existing["customer_id"] == request.customer_id and existing["category"] == (
                request.category
            ):
                return []  # a retried command: already applied
            raise CommandRejected(
                "dispute_id_taken", f"dispute {request.dispute_id} exists with other content"
            )
        invoice_ids = list(request.invoice_ids)
        rules.check_invoices(
            request.customer_id, invoice_ids, await self._invoices(connection, invoice_ids)
        )
        held = await self._holders(
            connection, queries.DISPUTED_INVOICES, request.customer_id, request.dispute_id
        )
        rules.check_not_taken("invoice_already_disputed", "dispute", invoice_ids, held)
        if request.whole_account:
            others = await connection.fetch(
                queries.DISPUTED_INVOICES, request.customer_id, request.dispute_id
            )
            for other in others:
                if other["whole_account"]:
                    raise CommandRejected(
                        "account_already_disputed",
                        f"the account of {request.customer_id} is already disputed by "
                        f"{other['dispute_id']}",
                    )
            rows = await connection.fetch(queries.OPEN_INVOICES_OF_CUSTOMER, request.customer_id)
            for row in rows:
                if row["invoice_id"] not in invoice_ids and row["invoice_id"] not in held:
                    invoice_ids.append(row["invoice_id"])
        today = await self._today(connection, request.customer_id, now)
        route = self.policy.routing.route(request.category, today)
        first = self._owner_reminder_at(self.policy.reminders.first_day(route.due_date))
        await connection.execute(
            queries.INSERT_DISPUTE,
            request.dispute_id,
            request.customer_id,
            invoice_ids,
            request.whole_account,
            request.category,
            request.text,
            request.raised_by,
            route.owner_role,
            route.owner,
            route.due_date,
            first,
            now,
        )
        await self._transition(
            connection,
            request.dispute_id,
            1,
            "opened",
            actor,
            now,
            {"category": request.category, "owner_role": route.owner_role},
        )
        return [
            disputes.DisputeOpened(
                event_id=event_id("dispute.opened", request.dispute_id),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.OpenedDispute(
                    dispute_id=request.dispute_id,
                    customer_id=request.customer_id,
                    invoice_ids=tuple(invoice_ids),
                    whole_account=request.whole_account,
                    category=request.category,
                    text=request.text,
                    raised_by=request.raised_by,
                    owner_role=route.owner_role,
                    owner=route.owner,
                    due_date=route.due_date,
                ),
            )
        ]

    async def invoice_opened(
        self, connection: Connection, now: datetime, customer_id: str, invoice_id: str
    ) -> list[Event]:
        """An invoice opened while its whole account is disputed is disputed too.

        The dispute is published again as ``dispute.opened`` with the invoice added: every
        consumer applies it idempotently (same dispute id), and pauses the new invoice.
        """
        events: list[Event] = []
        rows = await connection.fetch(queries.OPEN_WHOLE_ACCOUNT_DISPUTES, customer_id, invoice_id)
        for found in rows:
            row = await connection.fetchrow(
                queries.ADD_DISPUTED_INVOICE, found["dispute_id"], invoice_id, now
            )
            assert row is not None
            await self._transition(
                connection,
                row["dispute_id"],
                row["version"],
                "invoice_added",
                "ledger",
                now,
                {"invoice_id": invoice_id},
            )
            events.append(
                disputes.DisputeOpened(
                    event_id=event_id("dispute.opened", row["dispute_id"], invoice_id),
                    occurred_at=now,
                    source=SOURCE,
                    payload=disputes.OpenedDispute(
                        dispute_id=row["dispute_id"],
                        customer_id=customer_id,
                        invoice_ids=tuple(row["invoice_ids"]),
                        whole_account=True,
                        category=row["category"],
                        text=row["text"],
                        raised_by=row["raised_by"],
                        owner_role=row["owner_role"],
                        owner=row["owner"],
                        due_date=row["due_date"],
                    ),
                )
            )
        return events

    async def resolve_dispute(
        self,
        connection: Connection,
        now: datetime,
        resolution: disputes.DisputeResolution,
        expected_version: int | None = None,
    ) -> list[Event]:
        row = await connection.fetchrow(queries.DISPUTE_FOR_UPDATE, resolution.dispute_id)
        if row is None or row["customer_id"] != resolution.customer_id:
            raise NotFound(
                "unknown_dispute",
                f"no dispute {resolution.dispute_id} for customer {resolution.customer_id}",
            )
        self._check_version(row, expected_version)
        if row["status"] != "open":
            raise CommandRejected(
                "dispute_not_open", f"dispute {resolution.dispute_id} is {row['status']}"
            )
        status, awaiting = "resolved", []
        if resolution.outcome == "justified":
            invoices = await self._invoices(connection, row["invoice_ids"])
            awaiting = [i for i in row["invoice_ids"] if invoices[i].status == "open"]
            status = "awaiting_correction" if awaiting else "resolved"
        version = await connection.fetchval(
            queries.RESOLVE_DISPUTE,
            resolution.dispute_id,
            status,
            resolution.outcome,
            awaiting,
            now,
        )
        await self._transition(
            connection,
            resolution.dispute_id,
            version,
            "resolved",
            resolution.by,
            now,
            {"outcome": resolution.outcome, "note": resolution.note, "awaiting": awaiting},
        )
        return [
            disputes.DisputeResolved(
                event_id=event_id("dispute.resolved", resolution.dispute_id, version),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.ResolvedDispute(
                    dispute_id=resolution.dispute_id,
                    customer_id=resolution.customer_id,
                    invoice_ids=tuple(row["invoice_ids"]),
                    whole_account=row["whole_account"],
                    outcome=resolution.outcome,
                    by=resolution.by,
                    note=resolution.note,
                ),
            )
        ]

    async def reopen_dispute(
        self,
        connection: Connection,
        now: datetime,
        reopening: disputes.DisputeReopening,
        expected_version: int | None = None,
    ) -> list[Event]:
        row = await connection.fetchrow(queries.DISPUTE_FOR_UPDATE, reopening.dispute_id)
        if row is None or row["customer_id"] != reopening.customer_id:
            raise NotFound(
                "unknown_dispute",
                f"no dispute {reopening.dispute_id} for customer {reopening.customer_id}",
            )
        self._check_version(row, expected_version)
        if row["status"] == "open":
            raise CommandRejected(
                "dispute_not_resolved", f"dispute {reopening.dispute_id} is still open"
            )
        invoices = await self._invoices(connection, row["invoice_ids"])
        still_open = [i for i in row["invoice_ids"] if invoices[i].status == "open"]
        if not still_open and not row["whole_account"]:
            raise CommandRejected(
                "invoices_closed",
                f"every invoice of dispute {reopening.dispute_id} is settled or cancelled",
            )
        held = await self._holders(
            connection, queries.DISPUTED_INVOICES, reopening.customer_id, reopening.dispute_id
        )
        rules.check_not_taken("invoice_already_disputed", "dispute", still_open, held)
        today = await self._today(connection, reopening.customer_id, now)
        route = self.policy.routing.route(row["category"], today)
        first = self._owner_reminder_at(self.policy.reminders.first_day(route.due_date))
        version = await connection.fetchval(
            queries.REOPEN_DISPUTE,
            reopening.dispute_id,
            route.owner_role,
            route.owner,
            route.due_date,
            first,
            now,
        )
        await self._transition(
            connection,
            reopening.dispute_id,
            version,
            "reopened",
            reopening.by,
            now,
            {"reason": reopening.reason},
        )
        return [
            disputes.DisputeReopened(
                event_id=event_id("dispute.reopened", reopening.dispute_id, version),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.ReopenedDispute(
                    dispute_id=reopening.dispute_id,
                    customer_id=reopening.customer_id,
                    invoice_ids=tuple(row["invoice_ids"]),
                    whole_account=row["whole_account"],
                    owner_role=route.owner_role,
                    owner=route.owner,
                    due_date=route.due_date,
                    by=reopening.by,
                    reason=reopening.reason,
                ),
            )
        ]

    # Promises and plans -------------------------------------------------------------------

    async def _check_commitment(
        self,
        connection: Connection,
        customer_id: str,
        invoice_ids: Sequence[str],
        currency: str,
    ) -> list[rules.InvoiceView]:
        invoices = rules.check_invoices(
            customer_id, invoice_ids, await self._invoices(connection, invoice_ids)
        )
        rules.check_currency(currency, invoices)
        nil = uuid.UUID(int=0)
        rules.check_not_taken(
            "invoice_disputed",
            "dispute",
            invoice_ids,
            await self._holders(connection, queries.DISPUTED_INVOICES, customer_id, nil),
        )
        rules.check_not_taken(
            "overlapping_promise",
            "promise",
            invoice_ids,
            await self._holders(connection, queries.OPEN_PROMISED_INVOICES, customer_id),
        )
        rules.check_not_taken(
            "overlapping_payment_plan",
            "payment plan",
            invoice_ids,
            await self._holders(connection, queries.ACTIVE_PLANNED_INVOICES, customer_id),
        )
        return invoices

    async def record_promise(
        self, connection: Connection, now: datetime, promise: disputes.Promise
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.PROMISE, promise.promise_id)
        if existing is not None:
            if existing["customer_id"] == promise.customer_id and existing["amount"] == (
                promise.amount.amount
            ):
                return []
            raise CommandRejected(
                "promise_id_taken", f"promise {promise.promise_id} exists with other content"
            )
        await self._check_commitment(
            connection, promise.customer_id, promise.invoice_ids, promise.amount.currency
        )
        zone = await self._time_zone(connection, promise.customer_id)
        today = now.astimezone(ZoneInfo(zone)).date()
        rules.check_promised_date(promise.promised_date, today, self.policy.promise_max_days)
        deadline = commitments.promise_deadline(
            promise.promised_date, self.policy.promise_grace_days
        )
        await connection.execute(
            queries.INSERT_PROMISE,
            promise.promise_id,
            promise.customer_id,
            list(promise.invoice_ids),
            promise.promised_date,
            promise.amount.amount,
            promise.amount.currency,
            promise.channel,
            promise.recorded_by,
            now,
            commitments.day_end(deadline, zone),
        )
        await connection.execute(queries.PROMISE_MADE, promise.customer_id)
        return [
            disputes.PromiseMade(
                event_id=event_id("promise.made", promise.promise_id),
                occurred_at=now,
                source=SOURCE,
                payload=promise,
            )
        ]

    async def agree_plan(
        self, connection: Connection, now: datetime, plan: disputes.PaymentPlan
    ) -> list[Event]:
        existing = await connection.fetchrow(queries.PLAN, plan.plan_id)
        if existing is not None:
            if existing["customer_id"] == plan.customer_id and existing["agreed_on"] == (
                plan.agreed_on
            ):
                return []
            raise CommandRejected(
                "plan_id_taken", f"payment plan {plan.plan_id} exists with other content"
            )
        currency = plan.instalments[0].amount.currency
        invoices = await self._check_commitment(
            connection, plan.customer_id, plan.invoice_ids, currency
        )
        zone = await self._time_zone(connection, plan.customer_id)
        today = now.astimezone(ZoneInfo(zone)).date()
        rules.check_plan(
            plan.instalments, plan.agreed_on, today, invoices, self.policy.plan_first_within_days
        )
        check = commitments.next_check(
            plan.instalments, Decimal(0), self.policy.instalment_grace_days
        )
        assert check is not None
        await connection.execute(
            queries.INSERT_PLAN,
            plan.plan_id,
            plan.customer_id,
            list(plan.invoice_ids),
            plan.agreed_on,
            plan.agreed_by,
            [i.model_dump(mode="json") for i in plan.instalments],
            currency,
            now,
            commitments.day_end(check, zone),
        )
        return [
            disputes.PaymentPlanAgreed(
                event_id=event_id("payment_plan.agreed", plan.plan_id),
                occurred_at=now,
                source=SOURCE,
                payload=plan,
            )
        ]

    # The ledger ---------------------------------------------------------------------------

    async def payment_received(
        self,
        connection: Connection,
        now: datetime,
        customer_id: str,
        invoice_id: str,
        amount: Decimal,
    ) -> list[Event]:
        """A payment (negative: a reversal) on an invoice: promises kept, plans progress."""
        await connection.execute(queries.RECORD_PAYMENT, invoice_id, customer_id, amount, now)
        events: list[Event] = []
        today = await self._today(connection, customer_id, now)
        for row in await connection.fetch(queries.OPEN_PROMISES_ON_INVOICE, invoice_id, now):
            await connection.execute(queries.ADD_TO_PROMISE, row["promise_id"], amount)
            received = row["received"] + amount
            if commitments.promise_kept(row["amount"], received, all_closed=False):
                events.append(await self._keep(connection, now, row, today))
        for row in await connection.fetch(queries.ACTIVE_PLANS_ON_INVOICE, invoice_id, now):
            events.extend(
                await self._plan_moved(connection, now, row, row["received"] + amount, today)
            )
        return events

    async def invoice_closed(
        self,
        connection: Connection,
        now: datetime,
        customer_id: str,
        invoice_id: str,
        cause: CorrectionCause,
    ) -> list[Event]:
        """Settled or cancelled: promises and plans with nothing left to pay end, kept."""
        events = await self.corrected(connection, now, customer_id, invoice_id, cause)
        today = await self._today(connection, customer_id, now)
        for row in await connection.fetch(queries.OPEN_PROMISES_ON_INVOICE, invoice_id, now):
            closed = await connection.fetchval(queries.CLOSED_AMONG, row["invoice_ids"])
            if closed == len(row["invoice_ids"]):
                events.append(await self._keep(connection, now, row, today))
        for row in await connection.fetch(queries.ACTIVE_PLANS_ON_INVOICE, invoice_id, now):
            closed = await connection.fetchval(queries.CLOSED_AMONG, row["invoice_ids"])
            if closed == len(row["invoice_ids"]):
                events.extend(await self._complete(connection, now, row, row["received"], today))
        return events

    async def corrected(
        self,
        connection: Connection,
        now: datetime,
        customer_id: str,
        invoice_id: str,
        cause: CorrectionCause,
    ) -> list[Event]:
        """The ledger shows what a justified dispute waited for on ``invoice_id``."""
        events: list[Event] = []
        for row in await connection.fetch(queries.AWAITING_CORRECTION, customer_id, invoice_id):
            version = await connection.fetchval(
                queries.CORRECTION_RECEIVED, row["dispute_id"], invoice_id, now
            )
            await self._transition(
                connection,
                row["dispute_id"],
                version,
                "correction_received",
                "ledger",
                now,
                {"invoice_id": invoice_id, "cause": cause},
            )
            events.append(
                disputes.DisputeCorrectionReceived(
                    event_id=event_id("dispute.correction_received", row["dispute_id"], invoice_id),
                    occurred_at=now,
                    source=SOURCE,
                    payload=disputes.ReceivedCorrection(
                        dispute_id=row["dispute_id"],
                        customer_id=customer_id,
                        invoice_ids=(invoice_id,),
                        cause=cause,
                    ),
                )
            )
        return events

    async def _record(
        self, connection: Connection, customer_id: str, kept: int, broken: int
    ) -> disputes.PromiseRecord | None:
        row = await connection.fetchrow(queries.PROMISE_DECIDED, customer_id, kept, broken)
        return (
            None if row is None else disputes.PromiseRecord(kept=row["kept"], broken=row["broken"])
        )

    async def _keep(self, connection: Connection, now: datetime, row: Any, today: date) -> Event:
        await connection.execute(queries.CLOSE_PROMISE, row["promise_id"], "kept", today)
        record = await self._record(connection, row["customer_id"], 1, 0)
        return disputes.PromiseKept(
            event_id=event_id("promise.kept", row["promise_id"]),
            occurred_at=now,
            source=SOURCE,
            payload=disputes.KeptPromise(
                promise_id=row["promise_id"],
                customer_id=row["customer_id"],
                invoice_ids=tuple(row["invoice_ids"]),
                kept_on=today,
                customer_record=record,
            ),
        )

    async def _plan_moved(
        self, connection: Connection, now: datetime, row: Any, received: Decimal, today: date
    ) -> list[Event]:
        instalments = _instalments(row["instalments"])
        if commitments.plan_progress(instalments, received).completed:
            return await self._complete(connection, now, row, received, today)
        check = commitments.next_check(instalments, received, self.policy.instalment_grace_days)
        zone = await self._time_zone(connection, row["customer_id"])
        await connection.execute(
            queries.UPDATE_PLAN,
            row["plan_id"],
            received,
            "active",
            None if check is None else commitments.day_end(check, zone),
            None,
        )
        return []

    async def _complete(
        self, connection: Connection, now: datetime, row: Any, received: Decimal, today: date
    ) -> list[Event]:
        await connection.execute(
            queries.UPDATE_PLAN, row["plan_id"], received, "completed", None, today
        )
        return [
            disputes.PaymentPlanCompleted(
                event_id=event_id("payment_plan.completed", row["plan_id"]),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.CompletedPaymentPlan(
                    plan_id=row["plan_id"],
                    customer_id=row["customer_id"],
                    invoice_ids=tuple(row["invoice_ids"]),
                    completed_on=today,
                ),
            )
        ]

    # Timers -------------------------------------------------------------------------------

    def owner_reminder(self, now: datetime, row: Any) -> tuple[Event, datetime]:
        """The owner reminder due for an open, overdue dispute, and when the next one is."""
        policy = self.policy.reminders
        today = now.astimezone(ZoneInfo(self.policy.time_zone)).date()
        overdue = (today - row["due_date"]).days
        number = row["reminders_sent"] + 1
        rid = owner_reminder_id(row["dispute_id"], row["opening"], number)
        event = disputes.DisputeOwnerReminderDue(
            event_id=rid,
            occurred_at=now,
            source=SOURCE,
            payload=disputes.OwnerReminder(
                reminder_id=rid,
                dispute_id=row["dispute_id"],
                customer_id=row["customer_id"],
                invoice_ids=tuple(row["invoice_ids"]),
                whole_account=row["whole_account"],
                owner_role=row["owner_role"],
                owner=row["owner"],
                due_date=row["due_date"],
                firmness=policy.firmness(overdue),
                escalated_to_manager=policy.escalated_to_manager(overdue),
            ),
        )
        return event, self._owner_reminder_at(policy.next_day(today))

    async def promise_deadline_passed(
        self, connection: Connection, now: datetime, row: Any
    ) -> Event:
        """The promised date plus the grace is over and the promise was not kept: broken."""
        today = await self._today(connection, row["customer_id"], now)
        received = max(Decimal(0), row["received"])
        if received >= row["amount"]:  # kept at the last moment
            return await self._keep(connection, now, row, today)
        await connection.execute(queries.CLOSE_PROMISE, row["promise_id"], "broken", today)
        record = await self._record(connection, row["customer_id"], 0, 1)
        return disputes.PromiseBroken(
            event_id=event_id("promise.broken", row["promise_id"]),
            occurred_at=now,
            source=SOURCE,
            payload=disputes.BrokenPromise(
                promise_id=row["promise_id"],
                customer_id=row["customer_id"],
                invoice_ids=tuple(row["invoice_ids"]),
                promised_date=row["promised_date"],
                amount=PositiveMoney(amount=row["amount"], currency=row["currency"]),
                received=Money(amount=received, currency=row["currency"]),
                customer_record=record,
            ),
        )

    async def plan_check_due(self, connection: Connection, now: datetime, row: Any) -> list[Event]:
        """An instalment's grace is over: the plan is broken if it is not covered."""
        today = await self._today(connection, row["customer_id"], now)
        instalments = _instalments(row["instalments"])
        missed = commitments.missed_instalment(
            instalments, row["received"], today, self.policy.instalment_grace_days
        )
        if missed is None:
            return await self._plan_moved(connection, now, row, row["received"], today)
        await connection.execute(
            queries.UPDATE_PLAN, row["plan_id"], row["received"], "broken", None, today
        )
        invoice_ids = tuple(row["invoice_ids"])
        currency = row["currency"]
        return [
            disputes.PaymentPlanInstalmentMissed(
                event_id=event_id("payment_plan.instalment_missed", row["plan_id"], missed.number),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.MissedInstalment(
                    plan_id=row["plan_id"],
                    customer_id=row["customer_id"],
                    invoice_ids=invoice_ids,
                    instalment_number=missed.number,
                    due_date=missed.instalment.due_date,
                    amount=missed.instalment.amount,
                    received=Money(amount=missed.received, currency=currency),
                ),
            ),
            disputes.PaymentPlanBroken(
                event_id=event_id("payment_plan.broken", row["plan_id"]),
                occurred_at=now,
                source=SOURCE,
                payload=disputes.BrokenPaymentPlan(
                    plan_id=row["plan_id"],
                    customer_id=row["customer_id"],
                    invoice_ids=invoice_ids,
                    broken_on=today,
                    reason=(
                        f"instalment {missed.number} of {missed.instalment.amount.amount} "
                        f"{currency} due {missed.instalment.due_date} was not paid "
                        f"(received {missed.received})"
                    ),
                ),
            ),
        ]
