"""Proposals in the read model, on PostgreSQL: raised, rendered, edited, decided."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest

from contracts.topics import DUNNING_ACTIONS, NOTIFIER_DELIVERIES
from services.console import read_model
from tests.integration.console.conftest import feed
from tests.integration.console.proposal_story import (
    decided,
    proposal_events,
    raised,
    rendered,
    rendered_email,
)
from tests.integration.console.story import NOW, _dunned, events, uid
from tests.integration.console.test_read_model import COLLECTOR

pytestmark = pytest.mark.integration


async def test_proposals_are_kept_ranked_on_my_day_and_end_with_their_decision(
    pool: asyncpg.Pool,
) -> None:
    await feed(pool, [*events(), *proposal_events()])
    dubois = uid("proposal dubois")
    work = await read_model.worklist(pool, COLLECTOR, NOW.date(), NOW, read_model.WorkFilter(), 50)
    proposals = [i for i in work if i.kind == "proposal"]
    assert [(i.customer_id, i.at_risk, i.reference) for i in proposals] == [
        ("C-1001", Decimal(1500), str(dubois)),  # INV-1's 700 € and INV-2's 800 €
        ("C-666", Decimal(900), str(uid("proposal script"))),
    ]
    assert proposals[0].since == (NOW + timedelta(days=3)).date()  # its deadline
    assert work[0].kind == "proposal", "most money at risk first, with the rest"
    level_1 = await read_model.worklist(
        pool, COLLECTOR, NOW.date(), NOW, read_model.WorkFilter(level="level_1"), 50
    )
    assert all(i.kind != "proposal" for i in level_1), "they are level 2"

    found = await read_model.proposal(pool, dubois)
    assert found is not None
    proposal, customer = found
    assert (proposal.version, proposal.rendered, customer.name) == (1, True, "Atelier Dubois SARL")
    assert proposal.invoice_numbers == ["INV-1", "INV-2"]

    # An edit: version 2 forgets version 1's rendering; a late version 1 changes nothing.
    inv1 = _dunned("FR01", "INV-1", date(2026, 1, 31), "1200", "700")
    inv2 = _dunned("FR01", "INV-2", date(2026, 3, 3), "800", "800")
    late_render = rendered("dubois", "C-1001", 1, rendered_email("C-1001", 1), NOW)
    await feed(
        pool,
        [
            (DUNNING_ACTIONS, raised("dubois", "C-1001", "FR01", (inv1, inv2), 2, {"a": "b"})),
            (NOTIFIER_DELIVERIES, late_render.model_copy(update={"event_id": uid("late")})),
        ],
    )
    found = await read_model.proposal(pool, dubois)
    assert found is not None
    assert (found[0].version, found[0].paragraphs, found[0].rendered) == (2, {"a": "b"}, None)

    await feed(pool, [(DUNNING_ACTIONS, decided("dubois", "C-1001", 2, "skipped"))])
    [ended] = await read_model.proposals_of(pool, "C-1001", 10)
    assert (ended.decision, ended.decided_by, ended.waiting) == ("skipped", "local:camille", False)
    work = await read_model.worklist(pool, COLLECTOR, NOW.date(), NOW, read_model.WorkFilter(), 50)
    assert [i.customer_id for i in work if i.kind == "proposal"] == ["C-666"]
    kinds = [e.kind for e in await read_model.timeline(pool, "C-1001", 100)]
    assert {"proposal.raised", "proposal.edited", "proposal.skipped"} <= set(kinds)
