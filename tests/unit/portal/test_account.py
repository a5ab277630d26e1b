"""The account as the portal shows it, and the checks of what the customer typed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.portal import i18n
from services.portal.domain.account import OpenInvoice, Pause, account_of
from services.portal.domain.forms import (
    DisputeDecision,
    FieldError,
    PromiseDecision,
    check_dispute,
    check_promise,
)

TODAY = date(2026, 3, 2)


def invoice(number: str, due: date, open_amount: str, currency: str = "EUR") -> OpenInvoice:
    return OpenInvoice(
        invoice_id=f"FR01/{number}",
        invoice_number=number,
        issue_date=date(2026, 1, 1),
        due_date=due,
        amount=Decimal(open_amount),
        open_amount=Decimal(open_amount),
        currency=currency,
    )


INVOICES = [
    invoice("A", date(2026, 3, 2), "100.00"),  # due today: not late
    invoice("B", date(2026, 2, 1), "200.00"),
    invoice("C", date(2026, 2, 1), "300.00"),
    invoice("D", date(2026, 2, 1), "400.00"),
    invoice("E", date(2026, 2, 1), "500.00"),
    invoice("U", date(2026, 2, 1), "50.00", "USD"),
]
PAUSES = [
    Pause("dispute", frozenset({"FR01/C"})),
    Pause("promise", frozenset({"FR01/D", "FR01/C"}), until=date(2026, 3, 9)),
    Pause("plan", frozenset({"FR01/E"})),
]


def test_each_invoice_gets_the_first_status_that_applies() -> None:
    account = account_of(INVOICES, PAUSES, TODAY)
    statuses = {line.invoice.invoice_number: line.status for line in account.lines}
    assert statuses == {
        "A": "due",
        "B": "overdue",
        "C": "in_dispute",  # a dispute wins over a promise
        "D": "promised",
        "E": "in_plan",
        "U": "overdue",
    }
    (promised,) = (line for line in account.lines if line.status == "promised")
    assert promised.promised_for == date(2026, 3, 9)


def test_amounts_are_totalled_per_currency_never_across() -> None:
    account = account_of(INVOICES, PAUSES, TODAY)
    totals = {b.currency: (b.open_total, b.overdue_total) for b in account.balances}
    assert totals == {
        "EUR": (Decimal("1500.00"), Decimal("1400.00")),
        "USD": (Decimal("50.00"), Decimal("50.00")),
    }


def test_a_whole_account_dispute_puts_every_invoice_in_dispute() -> None:
    account = account_of(INVOICES, [Pause("dispute", frozenset(), whole_account=True)], TODAY)
    assert {line.status for line in account.lines} == {"in_dispute"}
    assert account.payable(line.invoice.invoice_id for line in account.lines) == ()


ACCOUNT = account_of(INVOICES, PAUSES, TODAY)


def test_a_promise_on_chosen_invoices_is_their_open_total() -> None:
    form = {"invoice": ["FR01/A", "FR01/B"], "promised_date": ["2026-03-20"]}
    decision = check_promise(form, ACCOUNT, TODAY, 90)
    assert isinstance(decision, PromiseDecision)
    assert (decision.amount, decision.currency) == (Decimal("300.00"), "EUR")


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({}, {"invoice": "choose_invoices", "promised_date": "date_required"}),
        ({"invoice": ["FR01/C"], "promised_date": ["2026-03-20"]}, {"invoice": "choose_invoices"}),
        (
            {"invoice": ["FR01/A", "FR01/U"], "promised_date": ["20/03/2026"]},
            {"invoice": "one_currency", "promised_date": "date_invalid"},
        ),
        ({"invoice": ["FR01/A"], "promised_date": ["2026-03-01"]}, {"promised_date": "date_past"}),
        (
            {"invoice": ["FR01/A"], "promised_date": [str(TODAY + timedelta(days=91))]},
            {"promised_date": "date_too_far"},
        ),
    ],
)
def test_a_promise_form_with_errors_names_each_field(
    form: dict[str, list[str]], errors: dict[str, str]
) -> None:
    checked = check_promise(form, ACCOUNT, TODAY, 90)
    assert isinstance(checked, dict)
    assert {name: error.key for name, error in checked.items()} == errors


def test_a_dispute_needs_invoices_a_category_and_a_message() -> None:
    checked = check_dispute({"message": ["  "]}, ACCOUNT)
    assert checked == {
        "invoice": FieldError("choose_invoices"),
        "category": FieldError("category_required"),
        "message": FieldError("message_required"),
    }
    too_long = check_dispute(
        {"invoice": ["FR01/A"], "category": ["pricing"], "message": ["x" * 4001]}, ACCOUNT
    )
    assert isinstance(too_long, dict)
    assert too_long["message"] == FieldError("message_too_long", {"max": 4000})
    decision = check_dispute(
        {"invoice": ["FR01/A"], "category": ["pricing"], "message": [" Wrong price "]}, ACCOUNT
    )
    assert isinstance(decision, DisputeDecision)
    assert decision.message == "Wrong price"


def test_every_language_has_every_word_and_its_placeholders() -> None:
    english = i18n.WORDS["en"]
    for language in i18n.LANGUAGES:
        words = i18n.WORDS[language]
        assert set(words) == set(english), language
        for key, text in english.items():
            assert sorted(_placeholders(words[key])) == sorted(_placeholders(text)), (language, key)


def _placeholders(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "1\u202f234,50\xa0€"),
        ("en", "€1,234.50"),
        ("de", "1.234,50\xa0€"),
        ("es", "1.234,50\xa0€"),
        ("it", "1.234,50\xa0€"),
    ],
)
def test_money_is_written_the_way_each_language_writes_it(language: str, expected: str) -> None:
    assert i18n.money(Decimal("1234.50"), "EUR", language) == expected


def test_a_language_is_chosen_from_the_customer_or_the_browser() -> None:
    assert i18n.language_of("de-CH") == "de"
    assert i18n.language_of("nl") == "en"
    assert i18n.from_accept_language("it-IT,it;q=0.9,en;q=0.5") == "it"
    assert i18n.from_accept_language("pt-BR") == "en"
    assert i18n.from_accept_language(None) == "en"
