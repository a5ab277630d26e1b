from __future__ import annotations

from services.notifier.domain.suppression import still_due
from tests.unit.notifier.samples import dunned

INVOICES = (dunned("A"), dunned("B"))


def test_nothing_dropped_when_all_still_open() -> None:
    kept = still_due(INVOICES, closed=(), disputed=(), whole_account_disputed=False)
    assert kept.remaining == INVOICES
    assert kept.reason is None


def test_settled_invoice_is_dropped_and_the_others_kept() -> None:
    kept = still_due(INVOICES, closed={"FR01/A"}, disputed=(), whole_account_disputed=False)
    assert [i.invoice_id for i in kept.remaining] == ["FR01/B"]
    assert kept.dropped == ("FR01/A",)
    assert kept.reason == "invoice_settled"


def test_dispute_wins_as_the_reason() -> None:
    kept = still_due(INVOICES, closed={"FR01/A"}, disputed={"FR01/B"}, whole_account_disputed=False)
    assert kept.remaining == ()
    assert kept.reason == "invoice_disputed"


def test_whole_account_dispute_drops_everything() -> None:
    kept = still_due(INVOICES, closed=(), disputed=(), whole_account_disputed=True)
    assert kept.remaining == ()
    assert kept.reason == "invoice_disputed"
