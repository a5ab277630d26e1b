"""Call-back requests: a customer asks the person in charge of their account to call.

Recorded once per request id, with the invoices it names checked as a promise's are (known,
the customer's, still open); the account's owner finds the open requests in the API
(``GET /callbacks``). A day already past in the customer's zone is refused. A new request
is published as ``callback.requested``, which the console shows as a call task on My day;
it pauses nothing and resumes nothing.
"""

from __future__ import annotations

from datetime import datetime

from contracts import disputes
from contracts.envelope import Event
from services.disputes import queries
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.domain import rules
from services.disputes.domain.policy import SOURCE, event_id
from services.disputes.errors import CommandRejected
from services.runtime.database import Connection


class Callbacks:
    def __init__(self, ledger: LedgerView) -> None:
        self.ledger = ledger

    @staticmethod
    async def close(
        connection: Connection, now: datetime, closure: disputes.CallbackClosure
    ) -> list[Event]:
        """The call was made and logged: the request is done (again: nothing changes)."""
        closed = await connection.fetchval(
            queries.CLOSE_CALLBACK, closure.request_id, closure.customer_id, now, closure.closed_by
        )
        if closed is None:
            raise CommandRejected(
                "unknown_callback",
                f"no call-back request {closure.request_id} of customer {closure.customer_id}",
            )
        return []

    async def request(
        self, connection: Connection, now: datetime, request: disputes.CallbackRequest
    ) -> list[Event]:
        if request.invoice_ids:
            rules.check_invoices(
                request.customer_id,
                request.invoice_ids,
                await self.ledger.invoices(connection, request.invoice_ids),
            )
        today = await self.ledger.today(connection, request.customer_id, now)
        if request.on < today:
            raise CommandRejected(
                "callback_day_in_past", f"the day {request.on} is before today {today}"
            )
        inserted = await connection.fetchval(
            queries.INSERT_CALLBACK,
            request.request_id,
            request.customer_id,
            request.company_code,
            request.phone,
            request.on,
            request.slot,
            list(request.invoice_ids),
            request.requested_by,
            now,
        )
        if inserted is None:
            return []  # a redelivered request: published once
        return [
            disputes.CallbackRequested(
                event_id=event_id("callback.requested", request.request_id),
                occurred_at=now,
                source=SOURCE,
                payload=request,
            )
        ]
