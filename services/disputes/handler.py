"""The disputes service's consumer: commands, the ledger, and collectors' call outcomes.

A command that cannot be applied (unknown invoice, invoice already settled, overlapping
promise, dispute not open...) is dead-lettered with its reason and counted; it changes
nothing. A call closed with "promise to pay" or "dispute raised" becomes a promise made by
phone or a dispute raised by the collector, decided exactly as the same command would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from contracts import disputes, notifications
from contracts.disputes import DisputeCategory
from contracts.envelope import Event
from contracts.topics import DISPUTE_EVENTS
from services.disputes import metrics
from services.disputes.casebook import Casebook
from services.disputes.errors import CommandRejected
from services.disputes.ledger_run import RUN_EVENTS, LedgerRun
from services.runtime.consumer import UnitOfWork
from services.runtime.database import Connection

SERVICE = "disputes"
CALL_NAMESPACE = uuid.UUID("c2a4e1d0-7f36-4b0b-9e55-0d8c3a71f6b2")

# What the service does something with besides the ledger's events: commands and the
# collectors' call outcomes, which end a run of ledger events.
COMMANDS = (
    disputes.OpenDispute,
    disputes.ResolveDispute,
    disputes.AnswerDispute,
    disputes.ReopenDispute,
    disputes.RecordPromise,
    disputes.AgreePaymentPlan,
    disputes.RequestCallback,
    disputes.RecordPaymentFailure,
    disputes.CloseCallback,
    disputes.ProposePaymentPlan,
    disputes.AcceptPaymentPlan,
    disputes.RefusePaymentPlan,
    notifications.CallTaskClosed,
)

Decide = Callable[[Connection, datetime], Awaitable[list[Event]]]


def from_call_id(task_id: uuid.UUID, what: str) -> uuid.UUID:
    """The id of the promise or dispute a closed call task records (a replay finds it)."""
    return uuid.uuid5(CALL_NAMESPACE, f"{task_id}/{what}")


class CommandHandler:
    def __init__(self, casebook: Casebook, call_dispute_category: DisputeCategory) -> None:
        self.casebook = casebook
        self.call_dispute_category = call_dispute_category

    async def handle(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        """A batch: consecutive ledger events are applied together as a run
        (:mod:`services.disputes.ledger_run`), written before the next command or call
        outcome, which reads the tables; a fact the service ignores does not end a run."""
        run: list[Event] = []
        for event in events:
            if isinstance(event, RUN_EVENTS):
                run.append(event)
            elif isinstance(event, COMMANDS):
                if run:
                    await self._apply_run(work, run)
                    run = []
                await self.apply(work, event)
        if run:
            await self._apply_run(work, run)

    async def _apply_run(self, work: UnitOfWork, events: Sequence[Event]) -> None:
        run = await LedgerRun.load(work.connection, self.casebook.policy, events)
        for event in events:
            self._emit(work, run.apply(event, work.clock.now()))
        await run.write()

    async def _decide(self, work: UnitOfWork, event: Event, name: str, decide: Decide) -> None:
        """Apply one command in a savepoint; on rejection nothing it did remains."""
        try:
            async with work.connection.transaction():
                emitted = await decide(work.connection, work.clock.now())
        except CommandRejected as exc:
            work.reject(event, exc.reason, exc.detail)
            metrics.COMMANDS.labels(SERVICE, name, "kafka", "rejected").inc()
            metrics.REJECTIONS.labels(SERVICE, exc.reason).inc()
            return
        metrics.COMMANDS.labels(SERVICE, name, "kafka", "applied").inc()
        self._emit(work, emitted)

    @staticmethod
    def _emit(work: UnitOfWork, emitted: Sequence[Event]) -> None:
        for out in emitted:
            work.emit(DISPUTE_EVENTS, out)
            metrics.EVENTS.labels(SERVICE, out.event_type).inc()

    async def apply(self, work: UnitOfWork, event: Event) -> None:
        book = self.casebook
        match event:
            case disputes.OpenDispute(payload=request):
                await self._decide(
                    work,
                    event,
                    "dispute.open",
                    lambda c, now: book.disputes.open(
                        c, now, request, request.by or request.raised_by
                    ),
                )
            case disputes.ResolveDispute(payload=resolution):
                await self._decide(
                    work,
                    event,
                    "dispute.resolve",
                    lambda c, now: book.disputes.resolve(c, now, resolution),
                )
            case disputes.AnswerDispute(payload=answer):
                await self._decide(
                    work,
                    event,
                    "dispute.answer",
                    lambda c, now: book.disputes.answer(c, now, answer),
                )
            case disputes.ReopenDispute(payload=reopening):
                await self._decide(
                    work,
                    event,
                    "dispute.reopen",
                    lambda c, now: book.disputes.reopen(c, now, reopening),
                )
            case disputes.RecordPromise(payload=promise):
                await self._decide(
                    work,
                    event,
                    "promise.record",
                    lambda c, now: book.promises.record(c, now, promise),
                )
            case disputes.AgreePaymentPlan(payload=plan):
                await self._decide(
                    work, event, "payment_plan.agree", lambda c, now: book.plans.agree(c, now, plan)
                )
            case disputes.RequestCallback(payload=callback):
                await self._decide(
                    work,
                    event,
                    "callback.request",
                    lambda c, now: book.callbacks.request(c, now, callback),
                )
            case disputes.RecordPaymentFailure(payload=failure):
                await self._decide(
                    work,
                    event,
                    "promise.payment_failed",
                    lambda c, now: book.promises.payment_failed(c, now, failure),
                )
            case disputes.CloseCallback(payload=closure):
                await self._decide(
                    work,
                    event,
                    "callback.close",
                    lambda c, now: book.callbacks.close(c, now, closure),
                )
            case disputes.ProposePaymentPlan(payload=proposal):
                await self._decide(
                    work,
                    event,
                    "payment_plan.propose",
                    lambda c, now: book.proposals.propose(c, now, proposal),
                )
            case disputes.AcceptPaymentPlan(payload=acceptance):
                await self._decide(
                    work,
                    event,
                    "payment_plan.accept",
                    lambda c, now: book.proposals.accept(c, now, acceptance),
                )
            case disputes.RefusePaymentPlan(payload=refusal):
                await self._decide(
                    work,
                    event,
                    "payment_plan.refuse",
                    lambda c, now: book.proposals.refuse(c, now, refusal),
                )
            case notifications.CallTaskClosed(payload=call):
                await self._call_closed(work, event, call)
            case _ if isinstance(event, RUN_EVENTS):
                await self._apply_run(work, [event])
            case _:
                pass  # other facts do not concern disputes

    async def _call_closed(
        self, work: UnitOfWork, event: Event, call: notifications.ClosedCallTask
    ) -> None:
        book = self.casebook
        if call.outcome == "promise_to_pay":
            assert call.promised_date is not None
            assert call.promised_amount is not None
            promise = disputes.Promise(
                promise_id=from_call_id(call.task_id, "promise"),
                customer_id=call.customer_id,
                invoice_ids=call.invoice_ids,
                promised_date=call.promised_date,
                amount=call.promised_amount,
                channel="phone_call",
                recorded_by=call.closed_by,
            )
            await self._decide(
                work, event, "call.promise", lambda c, now: book.promises.record(c, now, promise)
            )
        elif call.outcome == "dispute_raised":
            assert call.dispute_reason is not None
            request = disputes.DisputeRequest(
                dispute_id=from_call_id(call.task_id, "dispute"),
                customer_id=call.customer_id,
                invoice_ids=call.invoice_ids,
                category=self.call_dispute_category,
                text=call.dispute_reason,
                raised_by="collector",
            )
            await self._decide(
                work,
                event,
                "call.dispute",
                lambda c, now: book.disputes.open(c, now, request, call.closed_by),
            )
