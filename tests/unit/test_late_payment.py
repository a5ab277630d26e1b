"""Late-payment law per jurisdiction (``services.runtime.late_payment``): published worked
examples, a debt running across 1 July with a partial payment, and a property test against
an independent day-by-day computation in exact fractions."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.erp import CustomerType
from services.runtime.errors import LatePaymentError, NoReferenceRate
from services.runtime.late_payment import (
    EU_MINIMUM,
    FRANCE,
    GERMANY,
    UNITED_KINGDOM,
    FixedIndemnity,
    Payment,
    ReferenceRate,
    ReferenceRates,
    interest_terms,
    late_interest,
    law_of,
)
from services.runtime.reference_rates import (
    InvalidInterestRatesFile,
    as_reference_rates,
    interest_rate_event,
    parse_interest_rates,
)

RATES_FILE = Path(__file__).resolve().parents[2] / "reference" / "interest-rates.csv"
HISTORY = ReferenceRates(as_reference_rates(parse_interest_rates(RATES_FILE.read_text())))


def _claim(
    country: str,
    amount: str,
    due: date,
    as_of: date,
    currency: str = "EUR",
    customer_type: CustomerType = "business",
    payments: tuple[Payment, ...] = (),
    rates: ReferenceRates = HISTORY,
) -> Decimal:
    terms = interest_terms(law_of(country), customer_type)
    return late_interest(Decimal(amount), currency, due, as_of, terms, rates, payments).total


# Published worked examples ------------------------------------------------------------------


def test_the_uk_government_example() -> None:
    """GOV.UK, "Late commercial payments: charging interest and debt recovery", page
    "Interest on late commercial payments"
    (https://www.gov.uk/late-commercial-payments-interest-debt-recovery/charging-interest-commercial-debt):
    owed 1,000 GBP with a base rate of 0.5%: 85 GBP a year, "23p a day (85 / 365 = 0.23)",
    "after 50 days this would be 11.50 (50 x 0.23)". The guide rounds the daily figure to
    the penny before multiplying; Relance rounds once at the end, so the same 50 days give
    1000 x 8.5% x 50 / 365 = 11.6438... = 11.64 GBP (the guide's 11.50 is 50 rounded days)."""
    rates = ReferenceRates([ReferenceRate("boe_base_rate", date(2009, 3, 5), Decimal("0.5"))])
    terms = interest_terms(UNITED_KINGDOM, "business")
    assert terms.yearly_rate(date(2015, 2, 1), rates, date(2015, 1, 11)) == Decimal("8.5")
    assert (Decimal(1000) * Decimal("0.085") / 365).quantize(Decimal("0.01")) == Decimal("0.23")
    due = date(2015, 1, 10)
    claim = late_interest(Decimal(1000), "GBP", due, due + timedelta(days=50), terms, rates)
    assert sum(period.days for period in claim.periods) == 50
    assert claim.total == Decimal("11.64")


def test_the_french_formula_and_rate_of_the_second_half_of_2024() -> None:
    """Bpifrance Création, "Taux des pénalités de retard"
    (https://bpifrance-creation.fr/boiteaoutils/taux-penalites-retard): "Intérêt de retard =
    montant impayé X taux d'intérêt X nombre de jours de retard / 365", the ECB rate
    "depuis le mois de juin 2024 ... 4,25 soit au total 14,25 % (4,25 + 10)". 1,000 EUR
    30 days late in August 2024: 1000 x 14.25% x 30 / 365 = 11.7123... = 11.71 EUR."""
    terms = interest_terms(FRANCE, "business")
    assert terms.yearly_rate(date(2024, 8, 1), HISTORY, date(2024, 8, 1)) == Decimal("14.25")
    assert _claim("FR", "1000", date(2024, 7, 31), date(2024, 8, 30)) == Decimal("11.71")


def test_the_statutory_rates_of_each_jurisdiction_in_the_second_half_of_2024() -> None:
    day = date(2024, 9, 1)
    expected = {
        ("FR", "business"): "14.25",  # ECB 4.25 on 1 July 2024 + 10
        ("FR", "public_body"): "12.25",  # + 8 (interest starting to run in this half-year)
        ("DE", "business"): "12.37",  # Basiszinssatz 3.37 + 9
        ("DE", "consumer"): "8.37",  # + 5
        ("ES", "business"): "12.25",
        ("IT", "public_body"): "12.25",
        ("GB", "business"): "13.25",  # Bank Rate 5.25 on 30 June 2024 + 8
        ("US", "business"): "12.25",  # the EU directive's minimum
    }
    for (country, customer_type), rate in expected.items():
        terms = interest_terms(law_of(country), customer_type)  # type: ignore[arg-type]
        assert terms.yearly_rate(day, HISTORY, day) == Decimal(rate), (country, customer_type)


def test_the_uk_fixes_one_rate_per_debt_on_the_eve_of_the_half_year_it_starts() -> None:
    """Order 2002/1675 art. 4: 8% over the official dealing rate in force on 30 June (interest
    starting to run from 1 July to 31 December) or 31 December (from 1 January to 30 June)
    immediately before the day statutory interest starts to run. Bank Rate went to 5.25 on
    3 August 2023: a debt starting to run in the second half of 2023 bears 5.00 + 8 for its
    whole life, even in 2024; one starting on 1 January 2024 bears 5.25 + 8."""
    terms = interest_terms(UNITED_KINGDOM, "business")
    assert terms.yearly_rate(date(2024, 3, 1), HISTORY, date(2023, 12, 31)) == Decimal("13.00")
    assert terms.yearly_rate(date(2024, 3, 1), HISTORY, date(2024, 1, 1)) == Decimal("13.25")
    claim = late_interest(
        Decimal(3650), "GBP", date(2023, 12, 1), date(2024, 1, 30), terms, HISTORY
    )
    assert {p.yearly_rate for p in claim.periods} == {Decimal("13.00")}
    assert claim.total == Decimal("78.00")  # 3650 x 13% x 60 / 365


def test_french_public_buyers_pay_the_rate_of_the_half_year_interest_started_to_run() -> None:
    """Code de la commande publique R2192-31: the ECB rate "en vigueur au premier jour du
    semestre de l'année civile au cours duquel les intérêts moratoires ont commencé à courir,
    majoré de huit points". Started in June 2024 (4.50 on 1 January): 12.50% also in July."""
    terms = interest_terms(FRANCE, "public_body")
    claim = late_interest(
        Decimal(3650), "EUR", date(2024, 6, 20), date(2024, 7, 20), terms, HISTORY
    )
    assert {p.yearly_rate for p in claim.periods} == {Decimal("12.50")}
    assert claim.total == Decimal("37.50")  # 3650 x 12.5% x 30 / 365


# Across 1 July with a partial payment -------------------------------------------------------


def test_a_debt_across_1_july_with_a_partial_payment() -> None:
    """10,000 EUR due 15 June 2024 (FR, business), 4,000 paid with value date 10 July, claim
    on 31 July. 16-30 June: 15 days at 14.50% on 10,000 = 2,175,000 / 36,500; 1-9 July:
    9 days at 14.25% on 10,000 = 1,282,500 / 36,500; 10-31 July: 22 days at 14.25% on
    6,000 = 1,881,000 / 36,500. Total 5,338,500 / 36,500 = 146.2602... = 146.26 EUR."""
    terms = interest_terms(FRANCE, "business")
    claim = late_interest(
        Decimal(10000),
        "EUR",
        date(2024, 6, 15),
        date(2024, 7, 31),
        terms,
        HISTORY,
        (Payment(date(2024, 7, 10), Decimal(4000)),),
    )
    assert [(p.first_day, p.days, p.base, p.yearly_rate) for p in claim.periods] == [
        (date(2024, 6, 16), 15, Decimal(10000), Decimal("14.50")),
        (date(2024, 7, 1), 9, Decimal(10000), Decimal("14.25")),
        (date(2024, 7, 10), 22, Decimal(6000), Decimal("14.25")),
    ]
    assert claim.total == Decimal("146.26")


def test_a_payment_in_full_stops_the_interest_from_its_value_date() -> None:
    paid = (Payment(date(2024, 8, 10), Decimal(1000)),)
    until_paid = _claim("FR", "1000", date(2024, 7, 31), date(2024, 8, 9))
    assert _claim("FR", "1000", date(2024, 7, 31), date(2024, 12, 31), payments=paid) == until_paid
    assert until_paid == (Decimal(1000) * Decimal("14.25") * 9 / 36500).quantize(Decimal("0.01"))


def test_no_interest_before_or_on_the_due_date() -> None:
    assert _claim("DE", "500", date(2024, 7, 31), date(2024, 7, 31)) == Decimal("0.00")
    assert _claim("DE", "500", date(2024, 7, 31), date(2024, 7, 1)) == Decimal("0.00")


def test_rounding_follows_the_currency_minor_unit() -> None:
    """Actual/365 on 1,000,000 at 12.25% for 1 day is 335.6164...: 336 JPY, 335.616 KWD."""
    args = (date(2024, 7, 31), date(2024, 8, 1))
    assert _claim("ES", "1000000", *args, currency="JPY") == Decimal("336")
    assert _claim("ES", "1000000", *args, currency="KWD") == Decimal("335.616")
    assert _claim("ES", "1000000", *args, currency="EUR") == Decimal("335.62")


def test_a_leap_year_day_still_bears_one_365th() -> None:
    """36,500 EUR late through 2024 (IT): each day bears 36,500 x rate / 100 / 365 = rate
    EUR, 29 February included, so 366 days: 182 at 12.50% (ECB 4.50 on 1 January + 8) and
    184 at 12.25% (4.25 on 1 July + 8) = 2,275 + 2,254 = 4,529 EUR."""
    whole_year = _claim("IT", "36500", date(2023, 12, 31), date(2024, 12, 31))
    assert whole_year == Decimal("4529.00")


def test_a_day_without_a_known_rate_is_refused() -> None:
    with pytest.raises(NoReferenceRate, match="boe_base_rate"):
        _claim("GB", "100", date(2010, 1, 1), date(2010, 2, 1), currency="GBP")


# Contract rates, consumers, indemnities -----------------------------------------------------


def test_a_contract_rate_overrides_the_statutory_one() -> None:
    terms = interest_terms(FRANCE, "business", contract_rate=Decimal(15))
    claim = late_interest(Decimal(365), "EUR", date(2024, 6, 20), date(2024, 7, 20), terms, HISTORY)
    assert {p.yearly_rate for p in claim.periods} == {Decimal(15)}
    assert claim.total == Decimal("4.50")  # 365 x 15% x 30 / 365
    assert claim.warnings == ()


def test_a_french_contract_rate_under_three_times_the_legal_rate_is_kept_with_a_warning() -> None:
    """Decision: Relance claims the rate the invoice states and warns (docs/law.md)."""
    terms = interest_terms(
        FRANCE, "business", contract_rate=Decimal(10), legal_interest_rate=Decimal("4.92")
    )
    assert terms.contract_rate == Decimal(10)
    assert "three times the legal interest rate (14.76%)" in terms.warnings[0]
    at_floor = interest_terms(
        FRANCE, "business", contract_rate=Decimal("14.76"), legal_interest_rate=Decimal("4.92")
    )
    assert at_floor.warnings == ()
    with pytest.raises(LatePaymentError, match="negative"):
        interest_terms(FRANCE, "business", contract_rate=Decimal(-1))


def test_consumers_owe_the_german_consumer_rate_or_only_a_contract_rate() -> None:
    german = interest_terms(GERMANY, "consumer")
    assert german.yearly_rate(date(2024, 9, 1), HISTORY, date(2024, 9, 1)) == Decimal("8.37")
    french = interest_terms(FRANCE, "consumer")
    assert french.statutory is None
    assert "consumer" in french.warnings[0]
    assert _claim("FR", "1000", date(2024, 1, 1), date(2024, 6, 1), customer_type="consumer") == 0
    agreed = interest_terms(FRANCE, "consumer", contract_rate=Decimal(5))
    assert agreed.yearly_rate(date(2024, 2, 1), HISTORY, date(2024, 2, 1)) == Decimal(5)


@pytest.mark.parametrize(
    ("debt", "sum_"),
    [("999.99", 40), ("1000", 70), ("9999.99", 70), ("10000", 100), ("250000", 100)],
)
def test_the_uk_fixed_sum_by_size_of_debt(debt: str, sum_: int) -> None:
    indemnity = UNITED_KINGDOM.fixed_indemnity("business", Decimal(debt), "GBP")
    assert indemnity == FixedIndemnity(Decimal(sum_), "GBP")


def test_the_fixed_indemnity_is_40_eur_for_businesses_and_none_for_consumers() -> None:
    for country in ("FR", "DE", "ES", "IT", "PL"):
        law = law_of(country)
        for customer_type in ("business", "public_body"):
            assert law.fixed_indemnity(customer_type, Decimal(5), "USD") == FixedIndemnity(
                Decimal(40), "EUR"
            )
        assert law.fixed_indemnity("consumer", Decimal(5000), "EUR") is None
    assert UNITED_KINGDOM.fixed_indemnity("consumer", Decimal(5000), "GBP") is None
    with pytest.raises(LatePaymentError, match="GBP"):
        UNITED_KINGDOM.fixed_indemnity("business", Decimal(5000), "EUR")
    assert law_of("pl") is EU_MINIMUM
    assert law_of("gb") is UNITED_KINGDOM


# Property: the periods add up to the day-by-day sum ----------------------------------------

_REFERENCE = {  # the test's own reading of each text: (rate kind, fixing, margin by debtor)
    "FR": ("ecb_mro", "first", {"business": 10, "public_body": 8}),
    "DE": ("de_base_rate", "first", {"business": 9, "public_body": 9, "consumer": 5}),
    "ES": ("ecb_mro", "first", {"business": 8, "public_body": 8}),
    "IT": ("ecb_mro", "first", {"business": 8, "public_body": 8}),
    "GB": ("boe_base_rate", "eve", {"business": 8, "public_body": 8}),
}
# One rate for the whole debt, from the half-year interest starts to run in (Order 2002/1675
# art. 4; Code de la commande publique R2192-31); every other rule reads each day's half-year.
_FIXED_PER_DEBT = {("GB", "business"), ("GB", "public_body"), ("FR", "public_body")}
_ROWS = [
    row
    for row in csv.DictReader(
        line for line in RATES_FILE.read_text().splitlines() if not line.startswith("#")
    )
]


def _rate_by_hand(country: str, customer_type: str, day: date, due: date) -> Fraction | None:
    kind, fixing, margins = _REFERENCE[country]
    if customer_type not in margins:
        return None
    if (country, customer_type) in _FIXED_PER_DEBT:
        day = due + timedelta(days=1)
    start = date(day.year, 1, 1) if day.month < 7 else date(day.year, 7, 1)
    on = start if fixing == "first" else start - timedelta(days=1)
    rows = [r for r in _ROWS if r["kind"] == kind and date.fromisoformat(r["valid_from"]) <= on]
    latest = max(rows, key=lambda r: r["valid_from"])
    return Fraction(latest["rate"]) + margins[customer_type]


def _day_by_day(
    country: str,
    customer_type: str,
    amount: Decimal,
    due: date,
    as_of: date,
    payments: list[tuple[date, Decimal]],
    digits: int,
) -> Decimal:
    total = Fraction(0)
    day = due + timedelta(days=1)
    while day <= as_of:
        open_amount = Fraction(amount) - sum(Fraction(a) for d, a in payments if d <= day)
        rate = _rate_by_hand(country, customer_type, day, due)
        if rate is not None and open_amount > 0:
            total += open_amount * rate / 100 / 365
        day += timedelta(days=1)
    scaled = total * 10**digits
    rounded = int(scaled + Fraction(1, 2))  # half up; the total is never negative
    return Decimal(rounded).scaleb(-digits)


@settings(max_examples=150, deadline=None)
@given(
    country=st.sampled_from(sorted(_REFERENCE)),
    customer_type=st.sampled_from(["business", "public_body", "consumer"]),
    cents=st.integers(min_value=0, max_value=10**9),
    due=st.dates(min_value=date(2019, 1, 1), max_value=date(2025, 12, 31)),
    late_days=st.integers(min_value=-5, max_value=900),
    payment_offsets=st.lists(
        st.tuples(st.integers(-10, 900), st.integers(min_value=1, max_value=10**8)), max_size=3
    ),
    currency=st.sampled_from(["EUR", "GBP", "JPY", "KWD"]),
)
def test_the_periods_add_up_to_the_day_by_day_sum(
    country: str,
    customer_type: CustomerType,
    cents: int,
    due: date,
    late_days: int,
    payment_offsets: list[tuple[int, int]],
    currency: str,
) -> None:
    amount = Decimal(cents).scaleb(-2)
    as_of = due + timedelta(days=late_days)
    payments = [(due + timedelta(days=o), Decimal(c).scaleb(-2)) for o, c in payment_offsets]
    terms = interest_terms(law_of(country), customer_type)
    claim = late_interest(
        amount, currency, due, as_of, terms, HISTORY, tuple(Payment(d, a) for d, a in payments)
    )
    digits = {"JPY": 0, "KWD": 3}.get(currency, 2)
    assert claim.total == _day_by_day(country, customer_type, amount, due, as_of, payments, digits)
    assert sum(p.days for p in claim.periods) <= max(late_days, 0)


# The rates file and its events ---------------------------------------------------------------


def test_the_rates_file_covers_2019_to_2026_for_every_kind() -> None:
    assert HISTORY.in_force("ecb_mro", date(2019, 1, 1)) == Decimal("0.00")
    assert HISTORY.in_force("de_base_rate", date(2019, 1, 1)) == Decimal("-0.88")
    assert HISTORY.in_force("boe_base_rate", date(2018, 12, 31)) == Decimal("0.75")
    assert HISTORY.in_force("de_base_rate", date(2026, 1, 1)) == Decimal("1.27")
    assert HISTORY.in_force("ecb_mro", date(2026, 1, 1)) == Decimal("2.15")
    assert HISTORY.in_force("boe_base_rate", date(2025, 12, 31)) == Decimal("3.75")


def test_a_bad_rates_file_names_each_bad_line() -> None:
    text = (
        "# comment\n"
        "kind,valid_from,rate,checked\n"
        "ecb_mro,2024-06-12,4.25,stored\n"
        "fed_funds,2024-06-12,5.25,stored\n"
        "ecb_mro,2024-06-12,4.30,stored\n"
        "boe_base_rate,2024-08-01,5.00,guessed\n"
        "de_base_rate,2024-07-01,3.37\n"
    )
    with pytest.raises(InvalidInterestRatesFile) as caught:
        parse_interest_rates(text)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "line 4",
        "line 5",
        "line 6",
        "line 7",
    ]
    with pytest.raises(InvalidInterestRatesFile, match="header"):
        parse_interest_rates("kind,rate\necb_mro,1\n")


def test_loading_the_same_rate_twice_gives_the_same_event_id() -> None:
    (rate,) = parse_interest_rates("kind,valid_from,rate,checked\necb_mro,2024-06-12,4.25,stored")
    from datetime import UTC, datetime

    first = interest_rate_event(rate, datetime(2026, 1, 1, tzinfo=UTC))
    again = interest_rate_event(rate, datetime(2026, 2, 1, tzinfo=UTC))
    assert first.event_id == again.event_id
    with pytest.raises(LatePaymentError, match="two ecb_mro rates"):
        ReferenceRates(
            [
                ReferenceRate("ecb_mro", date(2024, 6, 12), Decimal("4.25")),
                ReferenceRate("ecb_mro", date(2024, 6, 12), Decimal("4.30")),
            ]
        )
