"""The notifier's own view of each customer's open invoices, kept from the ledger."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.composing.composer import EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.domain.handlings import handlings_of
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Notifier
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


async def test_open_items_follow_the_ledger_and_reach_the_customer_view(
    pool: asyncpg.Pool,
) -> None:
    settings = NotifierSettings()
    composer = EmailComposer.load(settings)
    clock = SimulatedClock(samples.NOW)
    dispatcher = Dispatcher(pool, clock, settings, {}, composer)
    notifier = Notifier(pool, clock, dispatcher, NOTIFIER_DELIVERIES.name)
    await notifier.consume(
        samples.customer_upserted(),
        samples.invoice_opened("INV-1"),
        samples.invoice_opened("INV-2"),
        samples.invoice_opened("INV-3"),
        samples.open_amount_changed("INV-1"),
        samples.invoice_settled("INV-2"),
    )
    async with pool.acquire() as connection:
        customer, _, _ = await notifier.dispatcher._customer(
            connection, samples.CUSTOMER, handlings_of([])
        )
    assert [(i.invoice_number, i.open_amount) for i in customer.open_items] == [
        ("INV-1", Decimal("700.00")),
        ("INV-3", Decimal("1200.00")),
    ]
    assert {i.currency for i in customer.open_items} == {"EUR"}
