"""The use cases: commands and ledger facts applied to disputes, promises and plans.

The casebook holds the three aggregates (:mod:`services.disputes.cases`): a command goes to
one of them (``casebook.disputes.open``, ``casebook.promises.record``,
``casebook.plans.agree``...); a ledger fact that concerns several goes through here
(:meth:`Casebook.payment_received`, :meth:`Casebook.invoice_closed`). Every use case runs
inside the caller's transaction (a Kafka batch's or an HTTP request's), checks the command
against the stored state first, and raises :class:`CommandRejected` before changing
anything when it cannot be applied. It returns the events to publish, which the caller
writes to the outbox in the same transaction. The Kafka consumer, the HTTP API and the
timers all go through here, so they decide the same way.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from contracts.disputes import CorrectionCause
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.callbacks import Callbacks
from services.disputes.cases.disputes import Disputes
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.cases.plans import Plans
from services.disputes.cases.promises import Promises
from services.disputes.cases.proposals import Proposals
from services.disputes.domain.policy import Policy
from services.runtime.database import Connection

__all__ = ["Casebook", "Policy"]


class Casebook:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ledger = LedgerView(policy.time_zone)
        self.disputes = Disputes(policy, self.ledger)
        self.promises = Promises(policy, self.ledger)
        self.plans = Plans(policy, self.ledger)
        self.callbacks = Callbacks(self.ledger)
        self.proposals = Proposals(policy, self.ledger, self.plans)

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
        today = await self.ledger.today(connection, customer_id, now)
        return await self.promises.payment_received(
            connection, now, invoice_id, amount, today
        ) + await self.plans.payment_received(connection, now, invoice_id, amount, today)

    async def invoice_closed(
        self,
        connection: Connection,
        now: datetime,
        customer_id: str,
        invoice_id: str,
        cause: CorrectionCause,
    ) -> list[Event]:
        """Settled or cancelled: what a justified dispute waited for, and promises and plans
        with nothing left to pay end, kept."""
        events = await self.disputes.corrected(connection, now, customer_id, invoice_id, cause)
        today = await self.ledger.today(connection, customer_id, now)
        events += await self.promises.invoice_closed(connection, now, invoice_id, today)
        events += await self.plans.invoice_closed(connection, now, invoice_id, today)
        return events
