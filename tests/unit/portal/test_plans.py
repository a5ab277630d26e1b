"""The payment plan form, checked against the firm's rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.portal.domain.account import Account, OpenInvoice, Pause, account_of
from services.portal.domain.plans import PlanDecision, PlanRules, amount_of, check_plan, rules_for

TODAY = date(2026, 3, 2)
RULES = PlanRules(max_instalments=3, first_within_days=7, min_instalment=Decimal(100), max_days=90)


def _invoice(number: str, open_amount: str, currency: str = "EUR") -> OpenInvoice:
    return OpenInvoice(
        invoice_id=f"FR01/{number}",
        invoice_number=number,
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 2, 1),
        amount=Decimal(open_amount),
        open_amount=Decimal(open_amount),
        currency=currency,
    )


ACCOUNT: Account = account_of(
    [
        _invoice("F1", "700.00"),
        _invoice("F2", "480.00"),
        _invoice("U1", "90.00", "USD"),
        _invoice("F3", "300.00"),
    ],
    [Pause("proposal", frozenset({"FR01/F3"}))],
    TODAY,
)


def form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


def test_instalments_adding_up_to_the_open_amount_are_a_plan() -> None:
    decision = check_plan(
        form(
            invoice=["FR01/F1", "FR01/F2"],
            instalment_date_1="2026-03-06",
            instalment_amount_1="580,00",
            instalment_date_2="2026-04-06",
            instalment_amount_2="600",
            instalment_date_3="",
            instalment_amount_3="",
        ),
        ACCOUNT,
        TODAY,
        RULES,
    )
    assert isinstance(decision, PlanDecision)
    assert decision.currency == "EUR"
    assert decision.instalments == (
        (date(2026, 3, 6), Decimal("580.00")),
        (date(2026, 4, 6), Decimal("600")),
    )


def test_each_rule_is_said_beside_its_field() -> None:
    errors = check_plan(
        form(
            invoice="FR01/F1",
            instalment_date_1="2026-03-20",  # beyond seven days
            instalment_amount_1="50",  # under the minimum
            instalment_date_2="2026-03-10",  # before the first
            instalment_amount_2="abc",
            instalment_date_3="2026-07-01",  # beyond 90 days
        ),
        ACCOUNT,
        TODAY,
        RULES,
    )
    assert not isinstance(errors, PlanDecision)
    assert {name: e.key for name, e in errors.items()} == {
        "instalment_date_1": "plan_first_too_late",
        "instalment_amount_1": "plan_amount_too_small",
        "instalment_date_2": "plan_dates_order",
        "instalment_amount_2": "amount_invalid",
        "instalment_date_3": "plan_too_long",
        "instalment_amount_3": "amount_required",
    }


def test_the_total_must_be_the_open_amount() -> None:
    errors = check_plan(
        form(invoice="FR01/F1", instalment_date_1="2026-03-03", instalment_amount_1="600"),
        ACCOUNT,
        TODAY,
        RULES,
    )
    assert not isinstance(errors, PlanDecision)
    assert errors["plan_total"].key == "plan_total_mismatch"
    assert errors["plan_total"].values == {"total": "600.00 EUR", "open": "700.00 EUR"}


@pytest.mark.parametrize(
    ("fields", "key", "name"),
    [
        ({"invoice": "FR01/F1"}, "plan_none", "plan_instalments"),
        (
            {"invoice": "FR01/F1", "instalment_date_4": "2026-03-03", "instalment_amount_4": "700"},
            "plan_too_many",
            "plan_instalments",
        ),
        (
            {
                "invoice": ["FR01/F1", "FR01/U1"],
                "instalment_date_1": "2026-03-03",
                "instalment_amount_1": "790",
            },
            "one_currency",
            "invoice",
        ),
        (  # an invoice whose plan proposal waits is not offered again
            {"invoice": "FR01/F3", "instalment_date_1": "2026-03-03", "instalment_amount_1": "300"},
            "choose_invoices",
            "invoice",
        ),
    ],
)
def test_forms_that_are_no_plan(fields: dict[str, str | list[str]], key: str, name: str) -> None:
    errors = check_plan(form(**fields), ACCOUNT, TODAY, RULES)
    assert not isinstance(errors, PlanDecision)
    assert errors[name].key == key


def test_amounts_as_people_type_them() -> None:
    assert amount_of("1 250,50") == Decimal("1250.50")
    assert amount_of("0") is None
    assert amount_of("12.345") is None
    assert amount_of("-5") is None


def test_a_company_may_have_rules_of_its_own() -> None:
    own = PlanRules(max_instalments=2)
    assert rules_for("DE01", RULES, {"DE01": own}) is own
    assert rules_for("FR01", RULES, {"DE01": own}) is RULES
