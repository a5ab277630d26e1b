"""A card payment announced by Stripe pauses dunning until the ERP's payment arrives, and
resumes it with an alert if it does not arrive in time.

Real PostgreSQL and Kafka: the portal verifies the webhook Stripe signed (loopback stand-in)
and publishes its command on Kafka; the command read back from Kafka goes to the disputes
service, whose events go to the scheduler, on one simulated clock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import asyncpg
import httpx
import pytest

from contracts import disputes, ledger
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import DISPUTE_COMMANDS
from services.disputes import metrics
from services.disputes.app import DEFINITION as DISPUTES
from services.disputes.settings import DisputesSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from tests.integration.disputes.harness import Disputes, Timeline
from tests.integration.portal.conftest import Site
from tests.integration.portal.stripe_standin import signature
from tests.integration.scheduler.fixtures import Scheduler
from tests.kafka_tools import consume
from tests.unit.portal import samples

pytestmark = pytest.mark.integration

PAID = {"FR01/F-2026-001": "700.00", "FR01/F-2026-002": "480.00"}


@pytest.fixture
async def timeline(database_url: str) -> AsyncIterator[Timeline]:
    pools: list[asyncpg.Pool] = []
    for definition in (DISPUTES, SCHEDULER):
        await migrations.apply_async(database_url, definition.schema, definition.migrations)
        pools.append(await create_pool(DatabaseSettings(url=database_url), definition.schema))
    clock = SimulatedClock(samples.NOW)
    settings = DisputesSettings(announced_payment_days=3)
    line = Timeline(Disputes(pools[0], clock, settings), Scheduler.of(pools[1], clock), clock)
    # the ledger as both services know it (the portal's samples, each customer anew)
    await line.ledger(*(e for e in samples.account_events() if e.event_type.startswith("ledger.")))
    yield line
    for pool in pools:
        await pool.close()


async def _paid_by_card(site: Site) -> Event:
    """The customer pays two invoices by card; Stripe signs its webhook; the portal's
    command is read back from Kafka."""
    async with httpx.AsyncClient() as client:
        paying = await client.post(f"{site.account_url}/pay", data={"invoice": list(PAID)})
        session_id = paying.headers["location"].rsplit("/", 1)[-1]
        payload = site.stripe.completed_event(session_id)
        headers = {"stripe-signature": signature(payload, site.clock.now().timestamp())}
        webhook = await client.post(
            f"{site.base_url}/portal/webhooks/stripe", content=payload, headers=headers
        )
    assert webhook.status_code == 200
    (record,) = await consume(site.bootstrap, site.commands.name, expected=1)
    return DISPUTE_COMMANDS.parse(record.value)


async def _pauses(timeline: Timeline) -> dict[str, str | None]:
    rows = await timeline.scheduler.pool.fetch(
        "SELECT invoice_id, pause_reason FROM dunning_invoice WHERE invoice_id = ANY($1)",
        list(PAID),
    )
    return {r["invoice_id"]: r["pause_reason"] for r in rows}


def _settled(invoice_id: str, amount: str, at: datetime) -> Event:
    number = invoice_id.split("/", 1)[1]
    money = PositiveMoney(amount=amount, currency="EUR")
    return ledger.InvoiceSettled(
        event_id=uuid.uuid4(),
        occurred_at=at,
        source="ingestion",
        payload=ledger.Settlement(
            company_code=samples.COMPANY,
            customer_id=samples.CUSTOMER,
            invoice_id=invoice_id,
            invoice_number=number,
            settled_on=at.date(),
            cause="payment",
            cause_document_id=f"PAY-{number}",
            previous_open_amount=money,
            amount=money,
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 3, 31),
        ),
    )


def _unconfirmed() -> float:
    return float(metrics.ANNOUNCED_PAYMENTS_UNCONFIRMED.labels("disputes")._value.get())


async def test_an_announced_payment_the_erp_never_confirms_resumes_dunning_with_an_alert(
    site: Site, timeline: Timeline
) -> None:
    command = await _paid_by_card(site)
    assert isinstance(command, disputes.RecordPromise)
    assert command.payload.kind == "payment_announced"
    await timeline.command(command)
    (made,) = await timeline.disputes.events()
    assert isinstance(made, disputes.PromiseMade)
    assert made.payload.kind == "payment_announced"
    assert set((await _pauses(timeline)).values()) == {"promise_to_pay"}

    before = _unconfirmed()
    # paid on 2 March (Paris); three days to wait: still paused on the 5th
    timeline.clock.set(samples.NOW + timedelta(days=3, hours=12))
    await timeline.disputes.timers.run_until_idle()
    await timeline.forward()
    assert len(await timeline.disputes.events()) == 1
    assert set((await _pauses(timeline)).values()) == {"promise_to_pay"}

    timeline.clock.set(samples.NOW + timedelta(days=4, hours=1))  # 6 March: over
    await timeline.disputes.timers.run_until_idle()
    await timeline.forward()
    broken = (await timeline.disputes.events())[-1]
    assert isinstance(broken, disputes.PromiseBroken)
    assert broken.payload.kind == "payment_announced"
    assert broken.payload.customer_record is None  # not the customer's broken word
    assert set(broken.payload.invoice_ids) == set(PAID)
    assert _unconfirmed() == before + 1
    assert set((await _pauses(timeline)).values()) == {None}  # dunning resumed
    record = await timeline.disputes.pool.fetchrow(
        "SELECT made, broken FROM customer_promise_record WHERE customer_id = $1",
        samples.CUSTOMER,
    )
    assert record is None or (record["made"], record["broken"]) == (0, 0)


async def test_the_erps_payment_ends_the_pause_as_kept(site: Site, timeline: Timeline) -> None:
    await timeline.command(await _paid_by_card(site))
    timeline.clock.set(samples.NOW + timedelta(days=1))
    await timeline.ledger(*(_settled(i, a, timeline.clock.now()) for i, a in PAID.items()))
    kept = (await timeline.disputes.events())[-1]
    assert isinstance(kept, disputes.PromiseKept)
    assert kept.payload.kind == "payment_announced"
    timeline.clock.set(samples.NOW + timedelta(days=10))
    await timeline.disputes.timers.run_until_idle()
    assert not any(isinstance(e, disputes.PromiseBroken) for e in await timeline.disputes.events())
