"""My day across currencies on a real PostgreSQL: the latest exchange rates of
``reference.fx-rates.v1`` kept by the projection, each item's money at risk converted in
the worklist query (directly, by the inverse rate, through the euro), and an item whose
currency has no rate ranked by its own amount and flagged."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from contracts import reference
from contracts.topics import FX_RATES
from services.console import queries, read_model
from services.console.domain.open_items import WorkItem
from tests.integration.console.conftest import feed
from tests.integration.console.story import NOW, events, uid
from tests.integration.console.test_read_model import COLLECTOR
from tests.integration.console.workplace_story import workplace_events

pytestmark = pytest.mark.integration

LATER = NOW + timedelta(days=6)


def rate(base: str, quote: str, value: str, valid_on: date) -> reference.FxRatePublished:
    return reference.FxRatePublished(
        event_id=uid(f"rate {base}/{quote} {valid_on} {value}"),
        occurred_at=NOW,
        source="treasury",
        payload=reference.FxRate(
            base_currency=base, quote_currency=quote, rate=Decimal(value), valid_on=valid_on
        ),
    )


def order(items: list[WorkItem]) -> list[tuple[str, str]]:
    return [(i.kind, i.currency) for i in items]


async def test_my_day_ranks_by_the_amount_in_the_reporting_currency(pool: asyncpg.Pool) -> None:
    await feed(pool, [*events(), *workplace_events()])
    mine = read_model.WorkFilter()
    before = await read_model.worklist(pool, COLLECTOR, LATER.date(), LATER, mine, 50)
    call = before[-1]
    # No USD rate yet: the call's 300 USD ranks as 300, last, and is flagged.
    assert (call.kind, call.currency, call.at_risk, call.unconverted) == (
        "call_due",
        "USD",
        Decimal("300"),
        True,
    )
    assert call.converted is None
    assert not any(i.unconverted for i in before[:-1])

    day = LATER.date() - timedelta(days=1)
    await feed(
        pool,
        [
            (FX_RATES, rate("EUR", "USD", "0.25", day)),  # a toy rate: 1 USD is 4 EUR
            (FX_RATES, rate("EUR", "USD", "0.5", day - timedelta(days=3))),  # older: ignored
            (FX_RATES, rate("GBP", "EUR", "1.25", day)),
        ],
    )
    reporting = read_model.Reporting("EUR", {"FR01": "GBP"})
    after = await read_model.worklist(pool, COLLECTOR, LATER.date(), LATER, mine, 50, reporting)
    # 300 USD = 1,200 EUR: after the 1,500 EUR bounce, before the 800 EUR dispute.
    assert order(after) == [
        ("unmatched_cash", "EUR"),
        ("delivery_trouble", "EUR"),
        ("call_due", "USD"),
        ("overdue_dispute", "EUR"),
        ("broken_promise", "EUR"),
        ("missed_instalment", "EUR"),
    ]
    call = after[2]
    assert (call.at_risk, call.currency, call.ranking, call.unconverted) == (
        Decimal("300"),
        "USD",
        Decimal("1200"),
        False,
    )
    # Shown in FR01's own reporting currency: USD to EUR to GBP (through the euro).
    assert (call.converted, call.reporting_currency) == (Decimal("960.00"), "GBP")
    assert (after[0].converted, after[0].reporting_currency) == (Decimal("1920.00"), "GBP")

    # Ranked in pounds, the order is the same (one rate scales every euro amount).
    in_pounds = await read_model.worklist(
        pool, COLLECTOR, LATER.date(), LATER, mine, 50, read_model.Reporting("GBP")
    )
    assert order(in_pounds) == order(after)
    assert in_pounds[2].ranking == Decimal("960")

    # A correction of the same day replaces the rate: 1 USD is 1 EUR now.
    await feed(pool, [(FX_RATES, rate("EUR", "USD", "1", day))])
    corrected = await read_model.worklist(pool, COLLECTOR, LATER.date(), LATER, mine, 50, reporting)
    assert order(corrected)[-2:] == [("missed_instalment", "EUR"), ("call_due", "USD")]
    kept = await pool.fetch("SELECT base_currency, valid_on, rate FROM fx_rates ORDER BY 1")
    assert [(r["base_currency"], r["valid_on"], r["rate"]) for r in kept] == [
        ("EUR", day, Decimal("1")),
        ("GBP", day, Decimal("1.25")),
    ]


async def test_the_query_for_readers_who_see_everyone_lists_the_same_and_no_more(
    pool: asyncpg.Pool,
) -> None:
    """My day for an unrestricted, unfiltered reader reads no customer before the limit
    (``WORKLIST_EVERYONE``): the same items as the general query; given a portfolio's
    arguments, it lists nothing rather than more than the portfolio."""
    await feed(pool, [*events(), *workplace_events()])
    day = LATER.date()
    after: tuple[Any, ...] = (day, LATER, None, None, None, ["local:dominique"], 50, "EUR", [], [])
    everyone: tuple[Any, ...] = (True, [], [], [], *after)
    general = await pool.fetch(queries.WORKLIST, *everyone)
    assert len(general) == 7  # C-2001's failed delivery too
    assert [dict(r) for r in await pool.fetch(queries.WORKLIST_EVERYONE, *everyone)] == [
        dict(r) for r in general
    ]
    restricted: tuple[Any, ...] = (False, [], ["C12"], [], *after)
    assert len(await pool.fetch(queries.WORKLIST, *restricted)) == 6
    assert await pool.fetch(queries.WORKLIST_EVERYONE, *restricted) == []
