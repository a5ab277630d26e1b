"""The statutory interest the customer page states: the kit's late-payment rules on the
read model's open amounts and their history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.console.domain.interest import (
    OpenInvoice,
    accrued_interest,
    effective_day,
    reductions_of,
)
from services.runtime.late_payment import ReferenceRate, ReferenceRates, law_of

RATES = ReferenceRates([ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15"))])
TODAY = date(2026, 3, 2)


def test_interest_per_invoice_and_currency_on_each_days_open_amount() -> None:
    invoices = [
        OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(500)),
        OpenInvoice("INV-2", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000)),
        OpenInvoice("INV-3", date(2026, 3, 31), "EUR", Decimal(800), Decimal(800)),  # not due
        OpenInvoice("INV-4", date(2026, 1, 31), "USD", Decimal(1000), Decimal(1000)),
    ]
    history = [(date(2026, 2, 15), "INV-1", Decimal(1000), Decimal(500))]
    found = accrued_interest(
        invoices, reductions_of(history), law_of("FR"), "business", RATES, TODAY
    )
    # 30 days at ECB 2.15 + 10 points: 1000 x 12.15% x 30 / 365 = 9.99
    assert found.per_invoice["INV-2"] == Decimal("9.99")
    assert found.per_invoice["INV-4"] == Decimal("9.99")
    # 14 days on 1,000 then 16 days on 500: 22,000 x 12.15% / 365 = 7.32
    assert found.per_invoice["INV-1"] == Decimal("7.32")
    assert "INV-3" not in found.per_invoice
    assert found.per_currency == {"EUR": Decimal("17.31"), "USD": Decimal("9.99")}
    assert found.rule is not None
    assert found.rule.startswith("FR: Code de commerce L441-10 II")
    assert found.unavailable is None


def test_a_history_that_does_not_add_up_uses_todays_open_amount() -> None:
    invoices = [OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000))]
    history = [(date(2026, 2, 15), "INV-1", Decimal(1000), Decimal(500))]  # then reversed
    found = accrued_interest(
        invoices, reductions_of(history), law_of("FR"), "business", RATES, TODAY
    )
    assert found.per_invoice["INV-1"] == Decimal("9.99")


def test_why_no_interest_is_stated() -> None:
    invoices = [OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000))]
    assert accrued_interest(invoices, {}, None, "business", RATES, TODAY).unavailable == (
        "no_creditor_country"
    )
    consumer = accrued_interest(invoices, {}, law_of("FR"), "consumer", RATES, TODAY)
    assert consumer.unavailable == "no_statutory_rate"
    no_rates = accrued_interest(invoices, {}, law_of("FR"), "business", ReferenceRates([]), TODAY)
    assert no_rates.unavailable == "no_reference_rate"


def test_a_payment_counts_from_its_value_date_when_the_ledger_gives_one() -> None:
    invoices = [OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(500))]
    # paid on 5 February, announced on the 15th: the value date wins
    history = [
        (effective_day(date(2026, 2, 15), "2026-02-05"), "INV-1", Decimal(1000), Decimal(500))
    ]
    found = accrued_interest(
        invoices, reductions_of(history), law_of("FR"), "business", RATES, TODAY
    )
    # 4 days on 1,000 then 26 days on 500: 17,000 x 12.15% / 365 = 5.66
    assert found.per_invoice["INV-1"] == Decimal("5.66")
    # without a value date (a version 1 event) the day announced: 7.32 as above
    assert effective_day(date(2026, 2, 15), None) == date(2026, 2, 15)
    # a payment dated before the due date reduces the base from the start
    early = [(effective_day(date(2026, 2, 15), "2026-01-20"), "INV-1", Decimal(1000), Decimal(500))]
    found = accrued_interest(invoices, reductions_of(early), law_of("FR"), "business", RATES, TODAY)
    assert found.per_invoice["INV-1"] == Decimal("4.99")  # 500 x 12.15% x 30 / 365


def test_an_invoice_at_the_rate_its_contract_states() -> None:
    invoices = [
        OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000), Decimal(15)),
        OpenInvoice("INV-2", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000)),
    ]
    found = accrued_interest(invoices, {}, law_of("FR"), "business", RATES, TODAY)
    # 30 days at 15%: 1000 x 15% x 30 / 365 = 12.33; the other at the statutory 12.15%: 9.99
    assert found.per_invoice == {"INV-1": Decimal("12.33"), "INV-2": Decimal("9.99")}
    assert found.per_currency == {"EUR": Decimal("22.32")}
    assert found.contract_rates == {"INV-1": Decimal(15)}
    assert found.rule is not None
    assert "L441-10 II" in found.rule  # the statutory rule still applies to the others
    # a contract rate needs no reference rate
    alone = accrued_interest(invoices[:1], {}, law_of("FR"), "business", ReferenceRates([]), TODAY)
    assert alone.per_invoice == {"INV-1": Decimal("12.33")}


def test_a_consumer_owes_interest_only_at_a_contract_rate_outside_germany() -> None:
    invoices = [
        OpenInvoice("INV-1", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000), Decimal(5)),
        OpenInvoice("INV-2", date(2026, 1, 31), "EUR", Decimal(1000), Decimal(1000)),
    ]
    found = accrued_interest(invoices, {}, law_of("FR"), "consumer", RATES, TODAY)
    assert found.unavailable is None
    assert found.per_invoice == {"INV-1": Decimal("4.11")}  # 1000 x 5% x 30 / 365
    assert found.contract_rates == {"INV-1": Decimal(5)}
    assert found.rule is not None
    assert "no statutory rate" in found.rule
