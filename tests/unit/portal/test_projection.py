"""What the read model keeps of a promise, of a payment announced, and of an invoice copy."""

from __future__ import annotations

from datetime import date

from services.portal import queries
from services.portal.projection import statements_for
from tests.unit.portal import samples


def test_a_promise_keeps_its_date_and_an_announced_payment_none() -> None:
    promise = samples.promise_made("F-2026-004", date(2026, 3, 15))
    ((sql, args),) = statements_for(promise)
    assert sql == queries.START_PAUSE
    assert args[-1] == date(2026, 3, 15)
    announced = promise.model_copy(
        update={"payload": promise.payload.model_copy(update={"kind": "payment_announced"})}
    )
    ((_, args),) = statements_for(announced)
    assert args[0] == "promise"
    assert args[-1] is None  # the page says "payment announced", with no date to wait for


def test_an_erp_invoice_keeps_its_copy_reference_under_the_ledgers_invoice_id() -> None:
    event = samples.erp_invoice(
        "F-2026-002", "480.00", date(2026, 3, 31), reference="FR01/2026/F-2026-002.pdf"
    )
    ((sql, args),) = statements_for(event)
    assert sql == queries.UPSERT_DOCUMENT
    assert args[:5] == ("FR01/F-2026-002", samples.CUSTOMER, samples.COMPANY, "F-2026-002", 1)
    assert args[5:] == ("FR01/2026/F-2026-002.pdf", "application/pdf", None)
