"""How the HTML report writes figures, and which statements deliveries map to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from contracts import notifications
from services.reporting import queries
from services.reporting.html_report import days, money, share
from services.reporting.projection import collector_of, statements_for

AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_amounts_are_written_to_the_cent_with_separators() -> None:
    assert money(Decimal("1234567.895")) == "1,234,567.90"
    assert money(Decimal("-0.5")) == "-0.50"
    assert money(None) == "n/a"
    assert share(Decimal("0.1234")) == "12.3 %"
    assert share(None) == "n/a"
    assert days(Decimal("38")) == "38.00"


def test_the_collector_is_read_from_its_tag() -> None:
    assert collector_of(("vip", "collector:north")) == "north"
    assert collector_of(("collector:",)) is None
    assert collector_of(()) is None


def _common() -> dict[str, object]:
    return {
        "delivery_id": uuid.uuid4(),
        "reminder_id": uuid.uuid4(),
        "customer_id": "C1",
        "invoice_ids": ("FR01/1", "FR01/2"),
        "channel": "email",
        "at": AT,
    }


def test_a_sent_delivery_records_its_invoices_and_no_personal_data() -> None:
    event = notifications.DeliverySent(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="t",
        payload=notifications.ProviderDelivery.model_validate(
            {**_common(), "provider": "smtp", "provider_tracking_id": "<x@example.com>"}
        ),
    )
    [(delivery_sql, args), (sent_sql, sent_args)] = statements_for(event)
    assert (delivery_sql, sent_sql) == (queries.RECORD_DELIVERY, queries.RECORD_SENT_INVOICES)
    assert args[5:9] == ("sent", AT, AT, None)
    assert sent_args[1] == ["FR01/1", "FR01/2"]
    assert not any("example.com" in str(a) for a in args + sent_args)


def test_a_failure_counts_without_its_text() -> None:
    event = notifications.DeliveryFailed(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="t",
        payload=notifications.Failure.model_validate(
            {**_common(), "reason": "no address for jeanne@example.com", "retryable": True}
        ),
    )
    [(sql, args)] = statements_for(event)
    assert sql == queries.RECORD_DELIVERY
    assert (args[5], args[7], args[11]) == ("failed", None, 1)
    assert not any("example.com" in str(a) for a in args)
