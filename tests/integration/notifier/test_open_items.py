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


async def test_a_partial_payment_is_kept_with_its_value_date_once(pool: asyncpg.Pool) -> None:
    from datetime import date

    from contracts.money import Money
    from services.notifier.composing.composer import SAMPLE_RATES
    from services.notifier.reference_rates import RateBook
    from services.runtime.late_payment import Payment

    settings = NotifierSettings()
    clock = SimulatedClock(samples.NOW)
    composer = EmailComposer.load(settings, RateBook(SAMPLE_RATES))
    dispatcher = Dispatcher(pool, clock, settings, {}, composer)
    notifier = Notifier(pool, clock, dispatcher, NOTIFIER_DELIVERIES.name)
    paid = samples.open_amount_changed("INV-1")
    paid = paid.model_copy(
        update={
            "payload": paid.payload.model_copy(
                update={
                    "previous_open_amount": Money(amount=Decimal("1200.00"), currency="EUR"),
                    "cause": "payment",
                    "value_date": date(2026, 2, 10),
                }
            )
        }
    )
    await notifier.consume(samples.customer_upserted(), samples.invoice_opened("INV-1"), paid)
    await notifier.consume(paid)  # redelivered: recorded once
    async with pool.acquire() as connection:
        customer, _, _ = await notifier.dispatcher._customer(
            connection, samples.CUSTOMER, handlings_of([])
        )
    (item,) = customer.open_items
    assert item.payments() == (Payment(date(2026, 2, 10), Decimal("500.00")),)
    # at 12.15%: 9 days on 1,200 (1-9 February), then 21 days on 700 (10 February-2 March)
    due = samples.reminder("INV-1")
    statement = composer.render_reminder(due, due.invoices, customer, samples.NOW).statement
    assert statement.lines[0].interest == Decimal("8.49")
    without_history = composer.render_reminder(
        due, due.invoices, customer.__class__(customer.name, customer.language, ()), samples.NOW
    ).statement
    assert without_history.lines[0].interest == Decimal("6.99")  # 30 days on 700
