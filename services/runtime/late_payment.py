"""Late-payment law per jurisdiction: the statutory interest rate, the fixed indemnity, and
the interest owed on an invoice over time, in exact decimals.

Pure rules shared by every service that states or claims late-payment penalties (the
scheduler's plans, the notifier's statements and letters); no I/O. ``docs/law.md`` lists
each rule with the article it comes from.

The creditor company's country decides (:func:`law_of`): France, Germany, Spain, Italy and
the United Kingdom have their own rules; any other country gets the minimum of EU
Directive 2011/7/EU (reference rate + 8 points, 40 EUR), which is documented as such.

- The yearly rate is a reference rate plus a margin. In the EU countries the reference rate
  of each half-year is the rate in force on its first day (1 January or 1 July: ECB main
  refinancing rate, German base rate), so a debt late across 1 July bears two rates. In the
  UK the rate is fixed once per debt: the Bank of England rate in force on 31 December or
  30 June immediately before the day statutory interest starts to run, for the whole claim;
  French public buyers likewise pay the ECB rate of the half-year interest started to run.
- A rate stated on the invoice or in the contract replaces the statutory one.
- Interest is simple interest, per day, from the day after the due date up to ``as_of``
  included, on the open amount of each day: a payment reduces the base from its value date
  (the value date itself bears the reduced base). Each day bears ``open amount x yearly
  rate / 100 / 365``, also in a leap year (actual/365 fixed). The exact sum is rounded half
  up to the currency's minor unit (Babel's currency digits: 0 for JPY, 3 for KWD) once, at
  the end.
- The fixed indemnity is per late invoice and only for business debtors (public bodies
  included); a consumer never owes it.

Reference rates reach services as ``reference.interest_rate.published`` events
(``contracts.reference``); a service keeps them in its own table and hands them here as a
:class:`ReferenceRates`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Literal

from babel.numbers import get_currency_precision

from contracts.erp import CustomerType
from contracts.reference import ReferenceRateKind
from services.runtime.errors import LatePaymentError, NoReferenceRate

RateKind = ReferenceRateKind
# Which day's reference rate a half-year uses: its first day, or the day before it (UK).
Fixing = Literal["first_day", "eve"]

DAYS_PER_YEAR = Decimal(365)
HUNDRED = Decimal(100)


def half_year_start(day: date) -> date:
    """1 January or 1 July of the half-year ``day`` falls in."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def next_half_year_start(day: date) -> date:
    start = half_year_start(day)
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 EUR, 1 JPY, 0.001 KWD (Babel's digits)."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


@dataclass(frozen=True)
class ReferenceRate:
    """A reference rate (percent a year) in force from ``valid_from`` until the next one."""

    kind: RateKind
    valid_from: date
    rate: Decimal


class ReferenceRates:
    """The history of each reference rate, from ``reference.interest_rate.published`` events.

    Loading the same rate twice is harmless; two different rates of one kind from the same
    day are refused.
    """

    def __init__(self, rates: Iterable[ReferenceRate]) -> None:
        by_kind: dict[str, dict[date, Decimal]] = {}
        for rate in rates:
            known = by_kind.setdefault(rate.kind, {})
            if rate.valid_from in known and known[rate.valid_from] != rate.rate:
                raise LatePaymentError(
                    f"two {rate.kind} rates from {rate.valid_from}: "
                    f"{known[rate.valid_from]} and {rate.rate}"
                )
            known[rate.valid_from] = rate.rate
        self._days = {kind: sorted(days) for kind, days in by_kind.items()}
        self._rates = by_kind

    def in_force(self, kind: RateKind, day: date) -> Decimal:
        """The ``kind`` rate in force on ``day``; :class:`NoReferenceRate` if none is known."""
        days = self._days.get(kind, [])
        index = bisect_right(days, day) - 1
        if index < 0:
            raise NoReferenceRate(f"no {kind} rate known in force on {day}")
        return self._rates[kind][days[index]]


@dataclass(frozen=True)
class StatutoryRate:
    """A statutory yearly rate: a reference rate, its fixing day, a margin in points."""

    reference: RateKind
    margin_points: Decimal
    fixing: Fixing
    source: str
    # True: one rate for the whole debt, fixed by the half-year interest starts to run in
    # (the UK); False: each half-year of the claim bears its own rate (the EU texts).
    fixed_per_debt: bool = False

    def fixing_day(self, day: date) -> date:
        """The day whose reference rate applies to the whole half-year of ``day``."""
        start = half_year_start(day)
        return start if self.fixing == "first_day" else start - timedelta(days=1)

    def yearly_rate(self, day: date, rates: ReferenceRates, starts_running: date) -> Decimal:
        """The yearly rate in percent for ``day`` of a debt whose interest starts to run on
        ``starts_running`` (the day after the due date)."""
        fixed_on = self.fixing_day(starts_running if self.fixed_per_debt else day)
        return rates.in_force(self.reference, fixed_on) + self.margin_points


@dataclass(frozen=True)
class FixedIndemnity:
    """The fixed sum owed per late invoice by a business debtor."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Law:
    """The late-payment rules of one jurisdiction (the creditor company's country)."""

    jurisdiction: str
    business: StatutoryRate
    public_body: StatutoryRate
    # The statutory rate a consumer owes under the same text, or None: the commercial text
    # does not apply to consumers, so only a rate they agreed to can be claimed.
    consumer: StatutoryRate | None
    indemnity_currency: str
    indemnity_source: str

    def statutory_rate(self, customer_type: CustomerType) -> StatutoryRate | None:
        if customer_type == "consumer":
            return self.consumer
        if customer_type == "public_body":
            return self.public_body
        return self.business

    def fixed_indemnity(
        self, customer_type: CustomerType, debt: Decimal, currency: str
    ) -> FixedIndemnity | None:
        """The fixed sum for one late invoice of ``debt``; None for a consumer."""
        if customer_type == "consumer":
            return None
        if self.jurisdiction != "GB":
            return FixedIndemnity(Decimal(40), "EUR")
        if currency != "GBP":
            raise LatePaymentError(
                f"the UK fixed sum depends on the size of the debt in GBP, got {currency}"
            )
        if debt < 1000:
            return FixedIndemnity(Decimal(40), "GBP")
        if debt < 10000:
            return FixedIndemnity(Decimal(70), "GBP")
        return FixedIndemnity(Decimal(100), "GBP")


_ECB_FIRST_DAY = "rate of the ECB's most recent main refinancing operation on 1 January / 1 July"

FRANCE = Law(
    jurisdiction="FR",
    business=StatutoryRate(
        "ecb_mro", Decimal(10), "first_day", "Code de commerce L441-10 II; " + _ECB_FIRST_DAY
    ),
    public_body=StatutoryRate(
        "ecb_mro",
        Decimal(8),
        "first_day",
        "Code de la commande publique R2192-31 (décret 2013-269): ECB main refinancing rate in "
        "force on the first day of the half-year in which the interest started to run + 8",
        fixed_per_debt=True,
    ),
    consumer=None,
    indemnity_currency="EUR",
    indemnity_source="Code de commerce L441-10 II and D441-5: 40 EUR (public buyers: Code de "
    "la commande publique L2192-13 and D2192-35, 40 EUR)",
)
GERMANY = Law(
    jurisdiction="DE",
    business=StatutoryRate(
        "de_base_rate", Decimal(9), "first_day", "BGB §288(2), base rate of §247 BGB"
    ),
    public_body=StatutoryRate(
        "de_base_rate", Decimal(9), "first_day", "BGB §288(2), base rate of §247 BGB"
    ),
    consumer=StatutoryRate(
        "de_base_rate", Decimal(5), "first_day", "BGB §288(1), base rate of §247 BGB"
    ),
    indemnity_currency="EUR",
    indemnity_source="BGB §288(5): 40 EUR if the debtor is not a consumer",
)
SPAIN = Law(
    jurisdiction="ES",
    business=StatutoryRate("ecb_mro", Decimal(8), "first_day", "Ley 3/2004 art. 7.2"),
    public_body=StatutoryRate("ecb_mro", Decimal(8), "first_day", "Ley 3/2004 art. 7.2"),
    consumer=None,
    indemnity_currency="EUR",
    indemnity_source="Ley 3/2004 art. 8.1: 40 EUR",
)
ITALY = Law(
    jurisdiction="IT",
    business=StatutoryRate("ecb_mro", Decimal(8), "first_day", "D.Lgs. 231/2002 art. 5"),
    public_body=StatutoryRate("ecb_mro", Decimal(8), "first_day", "D.Lgs. 231/2002 art. 5"),
    consumer=None,
    indemnity_currency="EUR",
    indemnity_source="D.Lgs. 231/2002 art. 6(2): 40 EUR",
)
UNITED_KINGDOM = Law(
    jurisdiction="GB",
    business=StatutoryRate(
        "boe_base_rate",
        Decimal(8),
        "eve",
        "Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002 art. 4: 8% "
        "over the Bank of England official dealing rate in force on 30 June / 31 December "
        "immediately before the day statutory interest starts to run",
        fixed_per_debt=True,
    ),
    public_body=StatutoryRate(
        "boe_base_rate",
        Decimal(8),
        "eve",
        "Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002 art. 4: 8% "
        "over the Bank of England official dealing rate in force on 30 June / 31 December "
        "immediately before the day statutory interest starts to run",
        fixed_per_debt=True,
    ),
    consumer=None,
    indemnity_currency="GBP",
    indemnity_source="Late Payment of Commercial Debts (Interest) Act 1998 s.5A: GBP 40 "
    "under 1,000, 70 under 10,000, 100 from 10,000",
)
EU_MINIMUM = Law(
    jurisdiction="EU",
    business=StatutoryRate(
        "ecb_mro", Decimal(8), "first_day", "Directive 2011/7/EU art. 2(5)-(7) minimum"
    ),
    public_body=StatutoryRate(
        "ecb_mro", Decimal(8), "first_day", "Directive 2011/7/EU art. 2(5)-(7) minimum"
    ),
    consumer=None,
    indemnity_currency="EUR",
    indemnity_source="Directive 2011/7/EU art. 6(1): at least 40 EUR",
)
LAWS: dict[str, Law] = {law.jurisdiction: law for law in (FRANCE, GERMANY, SPAIN, ITALY)}
LAWS["GB"] = UNITED_KINGDOM


def law_of(creditor_country: str) -> Law:
    """The rules of the creditor company's country; the EU directive's minimum otherwise."""
    return LAWS.get(creditor_country.upper(), EU_MINIMUM)


@dataclass(frozen=True)
class InterestTerms:
    """The rate an invoice bears once late: a contract rate, or a statutory rule, or none."""

    statutory: StatutoryRate | None
    contract_rate: Decimal | None = None
    warnings: tuple[str, ...] = ()

    def yearly_rate(self, day: date, rates: ReferenceRates, starts_running: date) -> Decimal:
        """The yearly rate in percent for ``day`` of a debt whose interest starts to run on
        ``starts_running``."""
        if self.contract_rate is not None:
            return self.contract_rate
        if self.statutory is None:
            return Decimal(0)
        return self.statutory.yearly_rate(day, rates, starts_running)


def interest_terms(
    law: Law,
    customer_type: CustomerType,
    contract_rate: Decimal | None = None,
    legal_interest_rate: Decimal | None = None,
) -> InterestTerms:
    """The terms of a late invoice: the invoice's or contract's rate when it states one.

    In France a contractual rate may not be under three times the legal interest rate
    (L441-10 II). Relance does not raise a lower rate: it claims what the invoice states and
    returns a warning, so that the letter never disagrees with the invoice the debtor holds;
    the check runs when ``legal_interest_rate`` (the creditor's taux d'intérêt légal of the
    half-year) is given. A consumer owes a statutory rate only in Germany (BGB §288(1));
    elsewhere only a rate they agreed to is claimed, and without one the interest is nil.
    """
    statutory = law.statutory_rate(customer_type)
    if contract_rate is None:
        if statutory is None:
            return InterestTerms(
                None,
                warnings=(
                    f"no statutory late-payment rate for a consumer in {law.jurisdiction}: "
                    "interest is claimed only at a rate the contract states",
                ),
            )
        return InterestTerms(statutory)
    if contract_rate < 0:
        raise LatePaymentError(f"a negative contract rate: {contract_rate}")
    warnings: list[str] = []
    if (
        law.jurisdiction == "FR"
        and customer_type != "consumer"
        and legal_interest_rate is not None
        and contract_rate < 3 * legal_interest_rate
    ):
        warnings.append(
            f"the contract rate {contract_rate}% is under three times the legal interest "
            f"rate ({3 * legal_interest_rate}%), the floor of Code de commerce L441-10 II"
        )
    return InterestTerms(statutory, contract_rate, tuple(warnings))


@dataclass(frozen=True)
class Payment:
    """Money that reduces the open amount from its value date on."""

    value_date: date
    amount: Decimal


@dataclass(frozen=True)
class InterestPeriod:
    """Days (``first_day`` to ``last_day`` included) with one base and one yearly rate."""

    first_day: date
    last_day: date
    base: Decimal
    yearly_rate: Decimal

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def interest(self) -> Decimal:
        """Exact, not rounded."""
        return self.base * self.yearly_rate * self.days / HUNDRED / DAYS_PER_YEAR


@dataclass(frozen=True)
class InterestClaim:
    """The interest owed on one invoice on a day, with the periods it adds up."""

    currency: str
    periods: tuple[InterestPeriod, ...]
    total: Decimal
    warnings: tuple[str, ...] = field(default=())


def open_amount_on(amount: Decimal, payments: Sequence[Payment], day: date) -> Decimal:
    """What remains of ``amount`` on ``day``, never below zero."""
    paid = sum((p.amount for p in payments if p.value_date <= day), Decimal(0))
    return max(amount - paid, Decimal(0))


def late_interest(
    amount: Decimal,
    currency: str,
    due_date: date,
    as_of: date,
    terms: InterestTerms,
    rates: ReferenceRates,
    payments: Sequence[Payment] = (),
) -> InterestClaim:
    """Interest owed on ``as_of`` for ``amount`` due on ``due_date``, less ``payments``.

    Periods break at each half-year start and at each payment's value date; each bears its
    base and yearly rate for its days; the sum is rounded to the currency's minor unit once.
    """
    if amount < 0:
        raise LatePaymentError(f"a negative invoice amount: {amount}")
    if any(p.amount <= 0 for p in payments):
        raise LatePaymentError("a payment reducing a late invoice must be positive")
    first = due_date + timedelta(days=1)
    breaks = {first, as_of + timedelta(days=1)}
    day = next_half_year_start(first)
    while day <= as_of:
        breaks.add(day)
        day = next_half_year_start(day)
    breaks.update(p.value_date for p in payments if first < p.value_date <= as_of)
    edges = sorted(breaks)
    periods: list[InterestPeriod] = []
    for start, end in pairwise(edges):
        if start > as_of:
            break
        base = open_amount_on(amount, payments, start)
        if base == 0:
            continue
        periods.append(
            InterestPeriod(
                start, end - timedelta(days=1), base, terms.yearly_rate(start, rates, first)
            )
        )
    # One division at the end keeps the sum exact (a true half-cent rounds up, never down).
    weighted = sum((p.base * p.yearly_rate * p.days for p in periods), Decimal(0))
    total = (weighted / HUNDRED / DAYS_PER_YEAR).quantize(
        minor_unit(currency), rounding=ROUND_HALF_UP
    )
    return InterestClaim(currency, tuple(periods), total, terms.warnings)
