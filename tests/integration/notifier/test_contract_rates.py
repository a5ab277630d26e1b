"""A contract's late-payment rate, carried by ``ledger.invoice.opened`` version 3, reaches
the formal notice's text through the notifier's own view of the ledger."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from contracts.topics import NOTIFIER_DELIVERIES
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.domain.handlings import handlings_of
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from tests.integration.notifier.harness import Notifier
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration


async def test_a_contract_rate_from_the_ledger_reaches_the_formal_notice(
    pool: asyncpg.Pool,
) -> None:
    settings = NotifierSettings()
    clock = SimulatedClock(samples.NOW)
    composer = EmailComposer.load(settings, RateBook(SAMPLE_RATES))
    dispatcher = Dispatcher(pool, clock, settings, {}, composer)
    notifier = Notifier(pool, clock, dispatcher, NOTIFIER_DELIVERIES.name)
    opened = samples.invoice_opened("INV-1")
    opened = opened.model_copy(
        update={
            "payload": opened.payload.model_copy(update={"late_interest_rate": Decimal("12.50")})
        }
    )
    assert opened.schema_version == 3
    await notifier.consume(samples.customer_upserted(), opened, samples.invoice_opened("INV-2"))
    # a change of the open amount, in a later batch, keeps the rate the opening stated
    await notifier.consume(samples.open_amount_changed("INV-1"))
    async with pool.acquire() as connection:
        customer, _, _ = await notifier.dispatcher._customer(
            connection, samples.CUSTOMER, handlings_of([])
        )
    assert [(i.invoice_number, i.late_interest_rate) for i in customer.open_items] == [
        ("INV-1", Decimal("12.5000")),
        ("INV-2", None),
    ]
    due = samples.reminder("INV-1", "INV-2", level="formal_notice", template="formal_notice")
    rendering = composer.render_reminder(due, due.invoices, customer, samples.NOW, medium="letter")
    # INV-1: 700 x 12.50% x 30 / 365 = 7.19; INV-2 at the statutory 12.15%: 700 -> 6.99
    assert [line.interest for line in rendering.statement.lines] == [
        Decimal("7.19"),
        Decimal("6.99"),
    ]
    assert (
        "portent intérêt au taux de 12,15 % l'an à compter du lendemain de l'échéance. "
        "La facture INV-1 porte intérêt au taux contractuel de 12,5 % l'an"
    ) in rendering.text
