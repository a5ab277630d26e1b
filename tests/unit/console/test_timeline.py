"""Every event the console reads becomes the right timeline entry; others become none."""

from __future__ import annotations

from services.console.domain.timeline import WORDING, entry_of, number_of
from services.console.projection import PROJECTIONS, statements_for
from services.console.web.labels import LABELS
from tests.integration.console.story import call_closed, events


def test_each_event_of_the_story_has_an_entry_with_a_label() -> None:
    story = [*events(), call_closed()]
    for _, event in story:
        entry = entry_of(event)
        if type(event).__name__ in ("LedgerCustomerUpserted", "DunningStateChanged"):
            assert entry is None
            continue
        assert entry is not None, event.event_type
        assert entry.customer_id == event.payload.customer_id
        assert entry.at == event.occurred_at
        assert entry.kind in LABELS, entry.kind


def test_every_worded_kind_of_ledger_change_has_a_label() -> None:
    kinds = [f"invoice.{c}" for c in ("payment", "credit_note", "correction", "reversal")] + [
        f"invoice.settled.{c}" for c in ("payment", "credit_note", "correction", "credit_balance")
    ]
    assert all(k in LABELS for k in kinds)


def test_the_projection_writes_the_timeline_last_and_ignores_unknown_events() -> None:
    _, event = call_closed()
    statements = statements_for(event)
    assert len(statements) == 2
    assert "INSERT INTO timeline" in statements[-1][0]
    assert set(PROJECTIONS) <= set(WORDING) | {
        t
        for t in PROJECTIONS
        # a state change, and a proposal's rendering (the preview, not the customer's story);
        # a suspension concerns companies, not one customer (the Operations page lists it);
        # a reference rate concerns every customer (their interest), an exchange rate too
        # (My day's order)
        if t.__name__
        in (
            "LedgerCustomerUpserted",
            "DunningStateChanged",
            "ProposalRendered",
            "SendingSuspended",
            "SendingResumed",
            "ReferenceInterestRatePublished",
            "FxRatePublished",
        )
    }


def test_number_of_an_invoice_id() -> None:
    assert number_of("FR01/INV/2026/1") == "INV/2026/1"


def test_a_dispute_owner_s_answer_is_on_the_customer_s_timeline_with_its_documents() -> None:
    from contracts import disputes
    from tests.unit.contract_examples import dispute_answered

    event = dispute_answered()
    assert isinstance(event, disputes.DisputeAnswered)
    document = disputes.Attachment(
        reference="disputes/x/1",
        media_type="application/pdf",
        size=1200,
        sha256="0" * 64,
        file_name="delivery-note.pdf",
    )
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"attachments": (document,)})}
    )
    entry = entry_of(event)
    assert entry is not None
    assert entry.customer_id == event.payload.customer_id
    assert entry.kind == "dispute.answered"
    assert entry.kind in LABELS
    assert entry.facts["text"] == event.payload.text
    assert entry.facts["attachments"] == ["delivery-note.pdf"]
    assert entry.facts["by"].startswith("owner-link:")
    assert statements_for(event)  # the timeline row, written by the projection


def test_a_payment_s_value_date_is_kept_beside_the_day_it_was_announced() -> None:
    from datetime import date

    from contracts import ledger

    (payment,) = [e for _, e in events() if isinstance(e, ledger.OpenAmountChanged)]
    entry = entry_of(payment)
    assert entry is not None
    assert "value_date" not in entry.facts  # a version 1 event: none
    dated = payment.model_copy(
        update={"payload": payment.payload.model_copy(update={"value_date": date(2026, 2, 5)})}
    )
    entry = entry_of(dated)
    assert entry is not None
    assert entry.facts["value_date"] == "2026-02-05"
    assert entry.at == payment.occurred_at  # the timeline stays in the order announced
