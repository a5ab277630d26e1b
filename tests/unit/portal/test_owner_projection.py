"""The owner's page's read model: an answer with its documents, a resolution with the
correction expected, and a reopening that clears it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from contracts import disputes
from services.portal import owner_queries
from services.portal.projection import statements_for

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
DISPUTE = uuid.UUID(int=5)
ANSWER = uuid.UUID(int=6)
SHA = "a" * 64


def test_an_answer_and_its_documents_reach_the_owners_page() -> None:
    event = disputes.DisputeAnswered(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.AnsweredDispute(
            dispute_id=DISPUTE,
            customer_id="C-1",
            answer_id=ANSWER,
            by=f"owner-link:{DISPUTE}:sales",
            text="",
            attachments=(
                disputes.Attachment(
                    reference="disputes/C-1/x/owner-1.pdf",
                    media_type="application/pdf",
                    size=10,
                    sha256=SHA,
                    file_name="bl.pdf",
                ),
            ),
        ),
    )
    statements = statements_for(event)
    assert [sql for sql, _ in statements] == [
        owner_queries.RECORD_ANSWER,
        owner_queries.RECORD_ANSWER_ATTACHMENT,
    ]
    assert statements[0][1] == (ANSWER, DISPUTE, f"owner-link:{DISPUTE}:sales", "", AT)
    assert statements[1][1][-1] == ANSWER


def test_a_resolution_keeps_the_correction_expected() -> None:
    event = disputes.DisputeResolved(
        event_id=uuid.uuid4(),
        occurred_at=AT,
        source="disputes",
        payload=disputes.ResolvedDispute(
            dispute_id=DISPUTE,
            customer_id="C-1",
            invoice_ids=("FR01/F1",),
            outcome="justified",
            by="x",
            correction=disputes.ExpectedCorrection(
                kind="credit_note",
                reference="AV-1",
                amount={"amount": Decimal("12.50"), "currency": "EUR"},
            ),
        ),
    )
    (resolved,) = [args for sql, args in statements_for(event) if sql == owner_queries.RESOLVED]
    assert resolved == (
        DISPUTE,
        "justified",
        None,
        "x",
        "credit_note",
        "AV-1",
        Decimal("12.50"),
        "EUR",
    )
