"""The notifier's penalties come from the kit's late-payment law, for the creditor company's
country and the customer's type (docs/law.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.notifier.domain import penalties
from services.notifier.domain.statement import PenaltyTerms, statement_of
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import dunned

RATES = ReferenceRates(
    (
        ReferenceRate("ecb_mro", date(2023, 9, 20), Decimal("4.50")),
        ReferenceRate("ecb_mro", date(2024, 6, 12), Decimal("4.25")),
        ReferenceRate("ecb_mro", date(2024, 9, 18), Decimal("3.65")),
        ReferenceRate("de_base_rate", date(2024, 1, 1), Decimal("3.62")),
        ReferenceRate("de_base_rate", date(2024, 7, 1), Decimal("3.37")),
        ReferenceRate("boe_base_rate", date(2023, 8, 3), Decimal("5.25")),
    )
)


def late(invoice_id: str, amount: str, currency: str, due: date) -> penalties.LateInvoice:
    return penalties.LateInvoice(invoice_id, Decimal(amount), currency, due)


def test_a_french_debt_across_1_july_bears_the_rate_of_each_half_year() -> None:
    # 10,000 EUR due 15 June 2024, on 31 July: 15 days at 4.50 + 10 = 14.50%, then
    # 31 days at 4.25 + 10 = 14.25% (the ECB rate in force on 1 July)
    owed = penalties.penalties_of(
        [late("FR01/A", "10000", "EUR", date(2024, 6, 15))],
        date(2024, 7, 31),
        creditor_country="FR",
        customer_type="business",
        rates=RATES,
    )
    expected = (Decimal(10000) * (Decimal("14.50") * 15 + Decimal("14.25") * 31) / 36500).quantize(
        Decimal("0.01")
    )
    assert owed.interest == {"FR01/A": expected}
    assert expected == Decimal("180.62")
    assert owed.yearly_rate == Decimal("14.25")
    assert (owed.indemnity, owed.indemnity_currency) == (Decimal(40), "EUR")
    assert owed.jurisdiction == "FR"


def test_a_consumer_owes_no_indemnity_and_in_germany_base_rate_plus_five() -> None:
    invoices = [late("DE01/A", "3650", "EUR", date(2024, 7, 31))]
    german = penalties.penalties_of(
        invoices, date(2024, 8, 30), creditor_country="DE", customer_type="consumer", rates=RATES
    )
    assert german.indemnity is None
    assert not german.indemnity_applies
    # 30 days at 3.37 + 5 = 8.37% on 3,650: 3650 x 8.37 x 30 / 36500 = 25.11
    assert german.interest == {"DE01/A": Decimal("25.11")}
    french = penalties.penalties_of(
        invoices, date(2024, 8, 30), creditor_country="FR", customer_type="consumer", rates=RATES
    )
    assert french.indemnity is None
    assert french.interest == {"DE01/A": Decimal("0.00")}
    assert french.warnings  # no statutory consumer rate in France: said, not guessed


def test_a_british_creditor_claims_gbp_70_on_a_debt_from_1000_to_10000() -> None:
    owed = penalties.penalties_of(
        [
            late("GB01/A", "5000", "GBP", date(2024, 1, 31)),
            late("GB01/B", "500", "GBP", date(2024, 1, 31)),
        ],
        date(2024, 3, 1),
        creditor_country="GB",
        customer_type="business",
        rates=RATES,
    )
    assert (owed.indemnity, owed.indemnity_currency) == (Decimal(110), "GBP")
    # Bank Rate on 31 December 2023 (5.25) + 8 = 13.25% for 30 days on 5,000
    assert owed.interest["GB01/A"] == Decimal("54.45")


def test_a_day_without_a_known_rate_leaves_interest_out_and_says_so() -> None:
    early = ReferenceRates((ReferenceRate("ecb_mro", date(2024, 6, 12), Decimal("4.25")),))
    statement = statement_of(
        [dunned("A", "700.00", date(2023, 12, 1))],
        date(2024, 7, 2),
        True,
        PenaltyTerms("FR", early),
    )
    assert statement.interest_unknown
    assert statement.totals[0].interest == 0
    assert statement.indemnity == Decimal(40)
    assert any("no ecb_mro rate" in warning for warning in statement.warnings)


def test_statement_totals_per_currency_and_counts_late_invoices() -> None:
    invoices = [
        dunned("A", "700.00"),
        dunned("B", "300.00"),
        dunned("C", "50.00", date(2026, 4, 1)),
    ]
    statement = statement_of(invoices, date(2026, 3, 2), True, PenaltyTerms("FR", RATES))
    (total,) = statement.totals
    assert total.open_amount == Decimal("1050.00")
    assert statement.late_invoices == 2
    assert statement.indemnity == Decimal(80)
    assert total.interest == sum(line.interest for line in statement.lines) > 0


def test_statement_without_penalties_states_none() -> None:
    statement = statement_of([dunned("A")], date(2026, 3, 2), False, PenaltyTerms("FR", RATES))
    assert statement.indemnity == 0
    assert all(line.interest == 0 for line in statement.lines)
