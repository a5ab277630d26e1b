"""Ledger facts the tests of several services build alike."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from contracts import ledger


def credit_balance_changed(
    customer_id: str, occurred_at: datetime, source: str = "ledger"
) -> ledger.CreditBalanceChanged:
    """A customer's credit grown by a payment of 50 EUR: a fact the notifier, the scheduler's
    tracker and disputes keep no view of, which must not end their runs of ledger events."""
    return ledger.CreditBalanceChanged(
        event_id=uuid.uuid4(),
        occurred_at=occurred_at,
        source=source,
        payload=ledger.CreditBalanceChange(
            company_code="FR01",
            customer_id=customer_id,
            currency="EUR",
            balance=Decimal("50.00"),
            delta=Decimal("50.00"),
            cause="payment",
            cause_document_id="PAY-1",
        ),
    )
