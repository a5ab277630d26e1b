"""A dispute's owner answers (a message, documents) and resolves it with the correction
expected: the history records the link's identity, a replayed answer records nothing twice,
a resolved dispute takes no more answers."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from contracts import disputes
from tests.integration.disputes.harness import Timeline, command, open_dispute
from tests.integration.scheduler.fixtures import customer, opened

pytestmark = pytest.mark.integration

DUE = date(2026, 12, 1)


async def test_the_owner_answers_then_resolves_with_the_correction_expected(
    timeline: Timeline,
) -> None:
    await timeline.ledger(customer("C1"), opened("C1", "F1", DUE))
    dispute_id, opening = open_dispute("C1", ["F1"], category="pricing")
    await timeline.command(opening)
    actor = f"owner-link:{dispute_id}:sales"
    answer = command(
        "dispute.answer",
        disputes.DisputeAnswer(
            dispute_id=dispute_id,
            customer_id="C1",
            answer_id=uuid.uuid4(),
            by=actor,
            text="The price list of October applies; a credit note follows.",
        ),
    )
    await timeline.command(answer, answer)  # replayed: recorded once
    resolution = command(
        "dispute.resolve",
        disputes.DisputeResolution.model_validate(
            {
                "dispute_id": dispute_id,
                "customer_id": "C1",
                "outcome": "justified",
                "by": actor,
                "note": "Wrong unit price.",
                "correction": {
                    "kind": "credit_note",
                    "reference": "AV-2026-118",
                    "amount": {"amount": "200.00", "currency": "EUR"},
                },
            }
        ),
    )
    late = command(
        "dispute.answer",
        disputes.DisputeAnswer(
            dispute_id=dispute_id,
            customer_id="C1",
            answer_id=uuid.uuid4(),
            by=actor,
            text="too late",
        ),
    )
    await timeline.command(resolution, late)

    events = await timeline.disputes.events()
    assert [e.event_type for e in events] == [
        "dispute.opened",
        "dispute.answered",
        "dispute.resolved",
    ]
    resolved = events[2]
    assert isinstance(resolved, disputes.DisputeResolved)
    assert resolved.payload.by == actor
    assert resolved.payload.correction is not None
    assert resolved.payload.correction.reference == "AV-2026-118"
    assert resolved.payload.correction.amount is not None
    assert resolved.payload.correction.amount.amount == Decimal("200.00")
    assert [r for r, _ in timeline.disputes.rejected] == ["dispute_not_open"]
    history = await timeline.disputes.pool.fetch(
        "SELECT action, actor, detail->>'text' AS text FROM dispute_transition "
        "WHERE dispute_id = $1 ORDER BY id",
        dispute_id,
    )
    assert [(r["action"], r["actor"]) for r in history][1:] == [
        ("answered", actor),
        ("resolved", actor),
    ]
    assert history[1]["text"].startswith("The price list of October")


def test_a_correction_only_with_a_justified_outcome() -> None:
    with pytest.raises(ValueError, match="only when the dispute is justified"):
        disputes.DisputeResolution.model_validate(
            {
                "dispute_id": uuid.uuid4(),
                "customer_id": "C1",
                "outcome": "rejected",
                "by": "x",
                "correction": {"kind": "credit_note", "reference": "AV-1"},
            }
        )
    with pytest.raises(ValueError, match="a message or a document"):
        disputes.DisputeAnswer(
            dispute_id=uuid.uuid4(), customer_id="C1", answer_id=uuid.uuid4(), by="x", text=" "
        )
