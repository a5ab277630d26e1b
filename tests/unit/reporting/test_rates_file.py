"""Exchange rates read from a CSV file: every bad line named, ids stable across loads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.reporting.domain.rates_file import InvalidRatesFile, parse_rates, rate_event

HEADER = "base_currency,quote_currency,valid_on,rate\n"
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_a_good_file_gives_its_rates_in_order() -> None:
    rates = parse_rates(HEADER + "EUR,USD,2026-03-02,1.0842\n GBP , EUR ,2026-03-02, 1.17 \n")
    assert [(r.line, r.rate.pair, r.rate.valid_on, r.rate.rate) for r in rates] == [
        (2, "EUR/USD", date(2026, 3, 2), Decimal("1.0842")),
        (3, "GBP/EUR", date(2026, 3, 2), Decimal("1.17")),
    ]


def test_every_bad_line_is_named_and_nothing_is_returned() -> None:
    text = (
        HEADER
        + "EUR,EUR,2026-03-02,1\n"  # same currency
        + "EUR,USD,2026-13-01,1.1\n"  # no such day
        + "EUR,USD,2026-03-01,-1\n"  # not positive
        + "EUR,USD,2026-03-01,1,2\n"  # comma decimal: one column too many
        + "EUR,USD,2026-03-03,1.1\n"
        + "EUR,USD,2026-03-03,1.2\n"  # same pair and day twice
    )
    with pytest.raises(InvalidRatesFile) as raised:
        parse_rates(text)
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 7"]
    assert "to itself" in problems[0]
    assert "valid_on" in problems[1]
    assert "rate" in problems[2]
    assert "already on line 6" in problems[4]


@pytest.mark.parametrize("text", ["", "base,quote,day,rate\nEUR,USD,2026-03-02,1.1\n", HEADER])
def test_a_wrong_header_or_an_empty_file_is_refused(text: str) -> None:
    with pytest.raises(InvalidRatesFile):
        parse_rates(text)


def test_the_same_rate_loaded_twice_has_the_same_event_id() -> None:
    [first] = parse_rates(HEADER + "EUR,USD,2026-03-02,1.0842\n")
    [same] = parse_rates(HEADER + "EUR,USD,2026-03-02,1.08420\n")
    [other] = parse_rates(HEADER + "EUR,USD,2026-03-02,1.0843\n")
    event = rate_event(first.rate, NOW)
    assert rate_event(same.rate, datetime(2027, 1, 1, tzinfo=UTC)).event_id == event.event_id
    assert rate_event(other.rate, NOW).event_id != event.event_id
    assert event.payload.pair == "EUR/USD"
