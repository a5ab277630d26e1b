"""What the disputes service knows of customers and invoices from the ledger.

Shared by the three aggregates: a customer's time zone and day, the invoices a command
names, which invoices an open dispute, promise or plan already holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.disputes import queries
from services.disputes.domain import rules
from services.runtime.database import Connection


class LedgerView:
    def __init__(self, default_time_zone: str) -> None:
        self.default_time_zone = default_time_zone

    async def time_zone(self, connection: Connection, customer_id: str) -> str:
        zone = await connection.fetchval(queries.CUSTOMER_TIME_ZONE, customer_id)
        return str(zone) if zone else self.default_time_zone

    async def today(self, connection: Connection, customer_id: str, now: datetime) -> date:
        return now.astimezone(ZoneInfo(await self.time_zone(connection, customer_id))).date()

    @staticmethod
    async def invoices(
        connection: Connection, invoice_ids: Sequence[str]
    ) -> dict[str, rules.InvoiceView]:
        rows = await connection.fetch(queries.INVOICES, list(invoice_ids))
        return {
            r["invoice_id"]: rules.InvoiceView(
                r["invoice_id"], r["customer_id"], r["currency"], r["open_amount"], r["status"]
            )
            for r in rows
        }

    @staticmethod
    async def holders(
        connection: Connection, query: str, customer_id: str, *args: object
    ) -> dict[str, str]:
        """Invoice id -> the id of the open dispute, promise or plan holding it."""
        held: dict[str, str] = {}
        for row in await connection.fetch(query, customer_id, *args):
            for invoice_id in row["invoice_ids"]:
                held[invoice_id] = str(row[0])
        return held

    async def committable(
        self,
        connection: Connection,
        customer_id: str,
        invoice_ids: Sequence[str],
        currency: str,
    ) -> list[rules.InvoiceView]:
        """The invoices of a new promise or plan: open, in its currency, and held by no
        open dispute, promise or payment plan."""
        invoices = rules.check_invoices(
            customer_id, invoice_ids, await self.invoices(connection, invoice_ids)
        )
        rules.check_currency(currency, invoices)
        nil = uuid.UUID(int=0)
        rules.check_not_taken(
            "invoice_disputed",
            "dispute",
            invoice_ids,
            await self.holders(connection, queries.DISPUTED_INVOICES, customer_id, nil),
        )
        rules.check_not_taken(
            "overlapping_promise",
            "promise",
            invoice_ids,
            await self.holders(connection, queries.OPEN_PROMISED_INVOICES, customer_id),
        )
        rules.check_not_taken(
            "overlapping_payment_plan",
            "payment plan",
            invoice_ids,
            await self.holders(connection, queries.ACTIVE_PLANNED_INVOICES, customer_id),
        )
        return invoices
