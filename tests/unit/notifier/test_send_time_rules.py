"""The notifier's send-time rules as pure functions: silence, window, release, statements."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain import penalties
from services.notifier.domain.sending_time import (
    Held,
    Place,
    next_window_instant,
    release_schedule,
)
from services.notifier.domain.statement import Handling, PenaltyTerms, statement_of
from services.notifier.domain.suppression import SilenceFacts, reachable, silence
from services.runtime.business_days import SendingWindow, is_business_day
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import dunned

PARIS = Place("FR", "Europe/Paris")
WINDOW = SendingWindow()
TERMS = PenaltyTerms(
    "FR", ReferenceRates((ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),))
)
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def _in_window(instant: datetime, place: Place) -> bool:
    local = instant.astimezone(ZoneInfo(place.time_zone))
    return (
        is_business_day(local.date(), place.country) and WINDOW.start <= local.time() < WINDOW.end
    )


@given(instants, st.sampled_from([PARIS, Place("US", "America/New_York")]))
def test_the_next_window_instant_is_in_the_window_and_none_means_now_is(
    now: datetime, place: Place
) -> None:
    later = next_window_instant(now, place, WINDOW)
    if later is None:
        assert _in_window(now, place)
    else:
        assert later > now
        assert _in_window(later, place)
        assert not _in_window(now, place)


@given(
    st.lists(st.tuples(st.sampled_from(["C1", "C2"]), instants), min_size=1, max_size=6),
    instants,
)
def test_release_keeps_the_gap_per_customer_and_the_window(
    held: list[tuple[str, datetime]], now: datetime
) -> None:
    gap = timedelta(hours=20)
    items = [Held(n, customer, due) for n, (customer, due) in enumerate(held)]
    schedule = release_schedule(items, now, {"C1": PARIS, "C2": PARIS}, {}, WINDOW, gap)
    assert set(schedule) == {i.delivery_id for i in items}
    for customer in ("C1", "C2"):
        times = sorted(schedule[i.delivery_id] for i in items if i.customer_id == customer)
        for earlier, later in itertools.pairwise(times):
            assert later - earlier >= gap
    for instant in schedule.values():
        assert instant >= now
        assert _in_window(instant, PARIS)


def test_release_waits_for_the_gap_after_the_last_contact() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 09:00 Paris
    last = now - timedelta(hours=1)
    schedule = release_schedule(
        [Held("d", "C1", now)], now, {"C1": PARIS}, {"C1": last}, WINDOW, timedelta(hours=20)
    )
    assert schedule["d"] == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # Tuesday 09:00 Paris


def test_every_reason_to_stay_silent_is_named() -> None:
    invoices = (dunned("A"), dunned("B"))
    assert silence(invoices, SilenceFacts(opted_out=True)).reason == "opted_out"
    assert silence(invoices, SilenceFacts(held={"FR01/A", "FR01/B"})).reason == "paused"
    held = silence(invoices, SilenceFacts(held={"FR01/B"}, closed={"FR01/A"}))
    assert (held.remaining, held.dropped, held.reason) == ((), ("FR01/A", "FR01/B"), "paused")
    assert silence(invoices, SilenceFacts(paused={"FR01/A", "FR01/B"})).reason == "paused"
    assert silence(invoices, SilenceFacts(closed={"FR01/A", "FR01/B"})).reason == (
        "invoice_settled"
    )
    mixed = silence(invoices, SilenceFacts(closed={"FR01/A"}, disputed={"FR01/B"}))
    assert (mixed.remaining, mixed.reason) == ((), "invoice_disputed")
    partial = silence(invoices, SilenceFacts(paused={"FR01/A"}))
    assert [i.invoice_number for i in partial.remaining] == ["B"]
    assert silence(invoices, SilenceFacts()).reason is None


def test_handled_invoices_are_marked_and_counted_nowhere() -> None:
    statement = statement_of(
        (dunned("A"), dunned("B"), dunned("C")),
        date(2026, 3, 2),
        True,
        TERMS,
        handled={
            "FR01/B": Handling("dispute", since=date(2026, 2, 18)),
            "FR01/C": Handling("plan"),
        },
    )
    (total,) = statement.totals
    assert total.open_amount == Decimal("700.00")
    assert statement.late_invoices == 1
    assert statement.indemnity == Decimal("40")
    assert [line.interest for line in statement.lines if line.handled] == [Decimal("0.00")] * 2
    assert [line.invoice_number for line in statement.due_lines] == ["A"]


@given(st.sampled_from(["business", "public_body", "consumer"]), st.integers(0, 20))
def test_only_consumers_never_owe_the_recovery_indemnity(customer_type: str, late: int) -> None:
    invoices = [
        penalties.LateInvoice(f"FR01/{n}", Decimal(100), "EUR", date(2026, 1, 1))
        for n in range(late)
    ]
    owed = penalties.penalties_of(
        invoices,
        date(2026, 3, 2),
        creditor_country="FR",
        customer_type=customer_type,  # type: ignore[arg-type]
        rates=TERMS.rates,
    )
    assert (owed.indemnity is None) == (customer_type == "consumer")
    assert (owed.indemnity or 0) == 40 * late * (customer_type != "consumer")


def test_a_consumers_statement_with_penalties_has_no_indemnity() -> None:
    statement = statement_of(
        (dunned("A"), dunned("B")), date(2026, 3, 2), True, TERMS, customer_type="consumer"
    )
    assert statement.indemnity == 0
    assert not statement.indemnity_applies
    # French law gives no statutory rate against a consumer: only a contract rate would
    assert statement.totals[0].interest == 0
    assert statement.warnings


def test_an_opted_out_address_is_removed_from_its_contact_only() -> None:
    contacts = (
        {"role": "billing", "email": "a@x.example", "phone": "+33600000001"},
        {"role": "billing", "email": "b@x.example"},
        {"role": "buyer", "phone": "+33600000001"},
    )
    found = reachable(contacts, {"+33600000001", "b@x.example", "unknown@x.example"})
    assert found.contacts == (
        {"role": "billing", "email": "a@x.example"},  # a STOP to SMS keeps the email
        {"role": "billing"},
        {"role": "buyer"},
    )
    assert found.left_out == ("+33600000001", "b@x.example")
    assert contacts[0]["phone"] == "+33600000001"  # the customer's own contacts untouched
