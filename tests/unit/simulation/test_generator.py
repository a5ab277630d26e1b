from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.topics import by_name
from services.runtime.dead_letter import reason_of
from simulation.generator import PROFILES, History, Size, generate

SMALL = replace(Size.small(), customers=200, invoices=900, days=40)


@pytest.fixture(scope="module")
def history() -> History:
    return generate(replace(SMALL, simple=False), seed=3)


def fingerprint(history: History) -> list[bytes]:
    values = [r.value for r in history.opening_customers]
    values += [r.value for day in history.timeline for r in day]
    values += [r.value for day in history.commands for r in day]
    return values


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    assert fingerprint(generate(SMALL, seed=5)) == fingerprint(generate(SMALL, seed=5))
    assert fingerprint(generate(SMALL, seed=5)) != fingerprint(generate(SMALL, seed=6))


def test_sizes_profiles_countries_and_segments_are_spread(history: History) -> None:
    assert len(history.customers) == 200
    assert len(history.invoices) == 900
    assert len(history.timeline) == 40
    profiles = Counter(c.profile for c in history.customers.values())
    assert set(profiles) == set(PROFILES)
    assert len({c.country for c in history.customers.values()}) >= 6
    assert len({c.company_code for c in history.customers.values()}) >= 5
    assert {c.customer_type for c in history.customers.values()} == {
        "business",
        "public_body",
        "consumer",
    }
    assert {c.market for c in history.customers.values()} == {"domestic", "export"}


def test_every_good_record_is_valid_and_every_bad_one_names_its_reason(history: History) -> None:
    good = 0
    for day in [history.opening_customers, *history.timeline, *history.commands]:
        for record in day:
            if record.bad is None:
                by_name(record.topic).parse(record.value)
                good += 1
    assert good > 1000
    reasons = Counter(r.bad for r in history.bad)
    invalid = {"malformed_json", "non_positive_amount", "due_before_issue", "schema_invalid"}
    assert set(reasons) == invalid | {"invoice_conflict", "document_conflict", "currency_mismatch"}
    for record in history.bad:
        if record.bad in invalid:  # the reason the runtime gives a record that does not parse
            with pytest.raises(ValidationError) as error:
                by_name(record.topic).parse(record.value)
            assert reason_of(error.value) == record.bad
        else:
            by_name(record.topic).parse(record.value)  # valid, but conflicting


def test_movements_never_take_an_invoice_below_zero(history: History) -> None:
    for invoice_id, invoice in history.invoices.items():
        for day in range(-history.size.history_days, history.size.days):
            amount = history.open_amount(invoice_id, day)
            assert Decimal(0) <= amount <= invoice.amount
    paid = [m for m in history.movements if m.kind == "payment"]
    assert paid
    assert all(m.amount > 0 for m in history.movements)


def test_payments_name_the_invoice_they_pay(history: History) -> None:
    for day in history.timeline:
        for record in day:
            if record.topic == "erp.payments.v1" and record.bad is None:
                payload = json.loads(record.value)["payload"]
                (allocation,) = payload["allocations"]
                assert allocation["amount"] == payload["amount"]["amount"]
                assert f"{payload['company_code']}/{allocation['invoice_number']}" in (
                    history.invoices
                )


def test_a_simple_history_issues_each_customers_invoices_together() -> None:
    simple = generate(Size.small(), seed=11)
    by_customer: dict[str, set[tuple[int, str]]] = {}
    for invoice in simple.invoices.values():
        by_customer.setdefault(invoice.customer_id, set()).add(
            (invoice.issue_day, str(invoice.due_date))
        )
    assert all(len(days) == 1 for days in by_customer.values())
    # a rejected dispute names every invoice of its customer: they resume together
    invoices_of: dict[str, set[str]] = {}
    for invoice in simple.invoices.values():
        invoices_of.setdefault(invoice.customer_id, set()).add(invoice.invoice_id)
    rejected = [d for d in simple.disputes if d.outcome == "rejected"]
    assert rejected
    assert all(set(d.invoice_ids) == invoices_of[d.customer_id] for d in rejected)


def test_a_simple_history_has_promises_kept_and_broken() -> None:
    simple = generate(Size.small(), seed=7)
    last = simple.size.days - 1
    broken = [p for p in simple.promises if p.broken_day is not None]
    kept = [p for p in simple.promises if p.broken_day is None]
    assert broken
    assert kept
    for promise in simple.promises:
        customer_invoices = {
            i.invoice_id for i in simple.invoices.values() if i.customer_id == promise.customer_id
        }
        assert set(promise.invoice_ids) == customer_invoices
        paid = [simple.closed_day(i) for i in promise.invoice_ids]
        if promise.broken_day is None:  # kept: every invoice paid by the promised date
            assert all(
                d is not None and promise.recorded_day < d <= promise.promised_day for d in paid
            )
        else:  # broken: nothing paid before the grace is over
            assert promise.broken_day == promise.promised_day + 3 <= last
            assert all(d is None or d > promise.broken_day for d in paid)
    commands = [r.kind for day in simple.commands for r in day]
    assert commands.count("promise.record") == len(simple.promises)
