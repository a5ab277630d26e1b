"""Which statements each event maps to: personal data dropped, unused types ignored."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from contracts import disputes, dunning, ledger
from contracts.erp import Contact, Segment
from contracts.money import Money
from services.reporting import queries
from services.reporting.projection import statements_for

NOTHING: dict[str, Any] = {}  # an event built without validation, fields unset
AT = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


def customer(customer_type: str) -> ledger.LedgerCustomerUpserted:
    return ledger.LedgerCustomerUpserted(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="t",
        payload=ledger.LedgerCustomer.model_validate(
            {
                "customer_id": "C1",
                "company_code": "FR01",
                "version": 3,
                "name": "Jeanne Martin",
                "country": "FR",
                "time_zone": "Europe/Paris",
                "language": "fr",
                "contacts": [Contact(role="billing", email="jeanne@example.com")],
                "segment": Segment.model_validate({"customer_type": customer_type}),
            }
        ),
    )


def test_a_consumers_name_and_every_contact_are_left_out() -> None:
    [(sql, args)] = statements_for(customer("consumer"))
    assert sql == queries.UPSERT_CUSTOMER
    assert args[3] is None
    assert not any("example.com" in str(a) or "Jeanne" in str(a) for a in args)


def test_a_companys_name_is_kept() -> None:
    [(_, args)] = statements_for(customer("business"))
    assert args[3] == "Jeanne Martin"
    assert not any("example.com" in str(a) for a in args)


def test_event_types_reporting_does_not_use_map_to_nothing() -> None:
    for unused in (disputes.DisputeOwnerReminderDue,):
        assert statements_for(unused.model_construct(**NOTHING)) == []


def test_a_change_takes_effect_on_its_utc_day() -> None:
    event = ledger.LedgerInvoiceCancelled(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2))),
        source="t",
        payload=ledger.Cancellation(
            company_code="FR01",
            customer_id="C1",
            invoice_id="FR01/1",
            invoice_number="1",
            previous_open_amount=Money(amount=Decimal("10.00"), currency="EUR"),
        ),
    )
    [cancel, history] = statements_for(event)
    assert cancel[0] == queries.CANCEL_INVOICE
    assert history[0] == queries.RECORD_CANCELLATION
    assert history[1][2] == date(2026, 3, 1)


def test_the_audit_view_keeps_the_role_and_the_arguments_but_no_person_nor_free_text() -> None:
    snapshot = dunning.InvoiceSnapshot(
        invoice_id="FR01/F1", scenario_id="negligent", next_step="friendly"
    )
    event = dunning.CommandExecuted(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=uuid.uuid4(),
            command="hold",
            customer_id="C1",
            company_code="FR01",
            actor_subject="local:marie.dupont",
            actor_role="collector",
            requested_at=AT,
            executed_at=AT,
            detail={"until": "2026-03-15", "reason": "Mme Martin on leave"},
            before=(snapshot,),
            after=(snapshot.model_copy(update={"held_until": AT + timedelta(days=14)}),),
        ),
    )
    [(sql, args)] = statements_for(event)
    assert sql == queries.RECORD_AUDIT_EVENT
    assert args[1:6] == ("hold", "C1", "FR01", None, "collector")
    assert (args[8], args[9], args[13]) == (1, date(2026, 3, 15), 0)
    assert not any("marie" in str(a) or "Martin" in str(a) for a in args)
