"""The ingestion benchmarks' reconciliation of the ledger with the generator, to the cent:
what it names when they differ, and that a run differing fails loudly. No servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.ingestion import erp_mix, expected_balances, reconcile
from bench.ingestion_apply import Ledger, exit_unless_reconciled


def test_a_cent_of_difference_or_a_missing_balance_is_named() -> None:
    expected = {
        ("FR01", "C1", "EUR"): Decimal("100.00"),
        ("FR01", "C2", "EUR"): Decimal("5.00"),
    }
    ledger = {
        ("FR01", "C1", "EUR"): Decimal("100.01"),
        ("FR01", "C3", "USD"): Decimal("0.004"),  # rounds to 0.00: not a difference
    }

    assert reconcile(expected, ledger) == [
        "FR01/C1/EUR: generator 100.00, ledger 100.01",
        "FR01/C2/EUR: generator 5.00, ledger 0.00",
    ]
    assert reconcile(expected, dict(expected)) == []


def test_the_mix_applied_in_memory_reconciles_and_a_changed_ledger_does_not() -> None:
    mix = erp_mix(1_000)
    expected = expected_balances(mix)
    ledger = Ledger()
    events = [topic.parse(topic.value(event)) for topic, event in mix]
    for start in range(0, len(events), 250):
        batch = events[start : start + 250]
        book = ledger.load(batch)
        book.apply_all(batch)
        ledger.save(book)
    owed = ledger.owed()

    assert reconcile(expected, owed) == []
    key = next(iter(owed))
    owed[key] += Decimal("0.01")
    assert len(reconcile(expected, owed)) == 1


def test_a_ledger_that_does_not_reconcile_exits_with_its_differences(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        exit_unless_reconciled(["FR01/C1/EUR: generator 1.00, ledger 0.99"], "reconciled")

    assert ended.value.code == 1
    captured = capsys.readouterr()
    assert "LEDGER DOES NOT RECONCILE (1)" in captured.err
    assert "FR01/C1/EUR: generator 1.00, ledger 0.99" in captured.err
    assert "reconciled" not in captured.out
    exit_unless_reconciled([], "ledger reconciled")
    assert capsys.readouterr().out == "ledger reconciled\n"
