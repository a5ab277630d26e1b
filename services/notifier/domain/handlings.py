"""What the notifier knows, at send time, of a customer's invoices handled elsewhere.

Built from one set-based query of the claim (``queries.SILENCE_FACTS``): the reminder's
invoices closed since, the customer's open disputes (or a dispute of the whole account), and
the active promises to pay and payment plans; with how each invoice is marked in a statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.notifier.domain.statement import Handling


@dataclass(frozen=True)
class Handlings:
    """A customer's invoices handled elsewhere: disputed (or the whole account), paused by a
    promise or a plan, and how each is marked in a statement."""

    disputed: frozenset[str]
    whole_account: bool
    paused: frozenset[str]
    by_invoice: Mapping[str, Handling]
    whole_account_since: date | None = None
    closed: frozenset[str] = frozenset()

    def marks(self, invoice_ids: Iterable[str]) -> Mapping[str, Handling]:
        """How each of ``invoice_ids`` is marked; all of them under a whole-account dispute."""
        if not self.whole_account:
            return self.by_invoice
        account = Handling("dispute", since=self.whole_account_since)
        return {i: account for i in invoice_ids} | dict(self.by_invoice)


def handlings_of(rows: Sequence[Any]) -> Handlings:
    disputed: set[str] = set()
    paused: set[str] = set()
    closed: set[str] = set()
    whole_account = False
    whole_account_since: date | None = None
    marks: dict[str, Handling] = {}
    for r in rows:
        kind = r["kind"]
        ids = r["invoice_ids"]
        if kind == "closed":
            closed.update(ids)
            continue
        if kind == "dispute":
            disputed.update(ids)
            if r["whole_account"]:
                whole_account = True
                whole_account_since = r["since"]
        else:
            paused.update(ids)
        for invoice_id in ids:
            if kind == "dispute" or invoice_id not in marks:
                marks[invoice_id] = Handling(kind, since=r["since"], until=r["until"])
    return Handlings(
        frozenset(disputed),
        whole_account,
        frozenset(paused),
        marks,
        whole_account_since,
        frozenset(closed),
    )
