"""Broken commitments a reminder recalls: a promise to pay that was not kept, or a payment
plan's instalment that was missed (the date and amount promised)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True)
class BrokenCommitment:
    """The last broken promise or missed instalment of an invoice."""

    kind: Literal["promise", "instalment"]
    invoice_id: str
    due_on: date
    amount: Decimal
    currency: str
    made_on: date | None = None
    instalment_number: int | None = None


def recalled(
    broken: Iterable[BrokenCommitment], invoice_ids: Iterable[str]
) -> tuple[BrokenCommitment, ...]:
    """What a reminder about ``invoice_ids`` recalls: each commitment once (a promise covering
    several invoices is one sentence), oldest due day first."""
    wanted = set(invoice_ids)
    seen: dict[tuple[object, ...], BrokenCommitment] = {}
    for commitment in broken:
        if commitment.invoice_id not in wanted:
            continue
        key = (
            commitment.kind,
            commitment.made_on,
            commitment.due_on,
            commitment.amount,
            commitment.currency,
            commitment.instalment_number,
        )
        seen.setdefault(key, commitment)
    return tuple(sorted(seen.values(), key=lambda c: (c.due_on, c.invoice_id)))
