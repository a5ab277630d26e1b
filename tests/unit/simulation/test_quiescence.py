"""What the quiescence counts: notices on their way, stranded ones, services away."""

from __future__ import annotations

import time

from simulation.cluster import Observation, Quiescence, notices_unreceived


def observation(**changes: int) -> Observation:
    values = {"timers_due": 0, "deliveries_due": 0, "end_offsets": 10} | changes
    return Observation(lag={"g": 0}, outbox={"notifier": 0}, **values)


def test_a_notice_due_or_on_its_way_is_not_quiet() -> None:
    assert observation().quiet
    assert not observation(notices_due=1).quiet
    assert not observation(notices_unreceived=1).quiet
    assert "notices_unreceived=1" in observation(notices_unreceived=1).describe()


def test_unreceived_notices_are_those_claimed_or_sent_and_not_at_the_server() -> None:
    assert notices_unreceived(3, 1) == 2
    assert notices_unreceived(3, 3) == 0
    assert notices_unreceived(2, 5) == 0  # sent again after a lease: counted once per id


def test_a_shortfall_unchanged_past_the_grace_no_longer_holds_the_day() -> None:
    quiescence = Quiescence("127.0.0.1:1", "postgresql://x", stranded_after_s=0.05)
    assert quiescence._unreceived(2, 1) == 1
    assert quiescence._unreceived(2, 1) == 1  # within the grace
    time.sleep(0.06)
    assert quiescence._unreceived(2, 1) == 0  # a send cut by a crash: its lease resends it
    assert quiescence._unreceived(3, 1) == 2  # a new notice on its way: waited for again
    assert quiescence._unreceived(3, 3) == 0


def test_a_delivery_being_sent_holds_the_clock_until_it_is_done_or_stranded() -> None:
    """A dispatcher checked the window, then composes and sends: the simulated clock must not
    move meanwhile, or the provider would receive the message after the window closed."""
    assert not observation(deliveries_in_flight=1).quiet
    assert "deliveries_in_flight=1" in observation(deliveries_in_flight=1).describe()
    quiescence = Quiescence("127.0.0.1:1", "postgresql://x", stranded_after_s=0.05)
    assert quiescence._stranded_in_flight(1) == 1
    assert quiescence._stranded_in_flight(1) == 1  # within the grace
    time.sleep(0.06)
    assert quiescence._stranded_in_flight(1) == 0  # a dispatcher killed mid-send
    assert quiescence._stranded_in_flight(2) == 2  # another claimed: waited for again
    assert quiescence._stranded_in_flight(0) == 0
