"""Where a paused invoice resumes: the scheduler's rules for disputes, promises and plans."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from contracts import disputes
from contracts.money import Money, PositiveMoney
from services.scheduler.domain.library import load_library
from services.scheduler.domain.progress import Debtor, firmer_position, resumed_step
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tracking import Resumption, resumption_of

NEGLIGENT = load_library(SchedulerSettings().scenarios_path).scenarios["negligent"]
PARIS = Debtor("FR", "Europe/Paris")
AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_next_firmer_step_skips_the_rest_of_the_current_level() -> None:
    # after friendly (level 1): call is level 1 too, firm is the first level 2 step
    assert firmer_position(NEGLIGENT, 2, "level_1", open_amount=Decimal(1), debtor=PARIS) == 3
    # after the preventive courtesy: friendly
    assert firmer_position(NEGLIGENT, 1, "preventive", open_amount=Decimal(1), debtor=PARIS) == 1
    # nothing taken yet: stays
    assert firmer_position(NEGLIGENT, 0, None, open_amount=Decimal(1), debtor=PARIS) == 0
    # after the formal notice only the exit is left
    last = len(NEGLIGENT.steps)
    assert (
        firmer_position(NEGLIGENT, last, "formal_notice", open_amount=Decimal(1), debtor=PARIS)
        == last
    )


def test_a_resumed_invoice_takes_its_step_whatever_the_steps_date() -> None:
    taken = resumed_step(NEGLIGENT, 3, open_amount=Decimal(1), debtor=PARIS)
    assert taken is not None
    assert taken.step is not None
    assert taken.step.name == "firm"
    assert (
        resumed_step(NEGLIGENT, len(NEGLIGENT.steps), open_amount=Decimal(1), debtor=PARIS) is None
    )


def _resolved(outcome: str) -> disputes.DisputeResolved:
    return disputes.DisputeResolved(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.ResolvedDispute.model_validate(
            {
                "dispute_id": uuid.uuid4(),
                "customer_id": "C1",
                "invoice_ids": ["FR01/F1"],
                "outcome": outcome,
                "by": "anna",
            }
        ),
    )


def test_each_event_lifts_its_own_pause_its_own_way() -> None:
    assert resumption_of(_resolved("rejected")) == ("dispute", Resumption.FIRMER)
    assert resumption_of(_resolved("justified")) is None  # waits for the credit note
    assert resumption_of(_resolved("settled_by_payment")) == (
        "dispute",
        Resumption.WHERE_IT_STOPPED,
    )
    broken = disputes.PromiseBroken(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.BrokenPromise(
            promise_id=uuid.uuid4(),
            customer_id="C1",
            invoice_ids=("FR01/F1",),
            promised_date=date(2026, 12, 1),
            amount=PositiveMoney(amount=Decimal(10), currency="EUR"),
            received=Money(amount=Decimal(0), currency="EUR"),
        ),
    )
    assert resumption_of(broken) == ("promise_to_pay", Resumption.FIRMER_NOW)
