"""A run of ledger events applied set-based: a few statements per run, not five per event.

Ingestion publishes about 1.8 ledger events per ERP event and the console follows each of
them; applied one at a time (:func:`services.console.projection.statements_for`) an invoice's
event took five round trips (its row, the money at risk of the disputes, failed deliveries
and phone reminders holding it, its timeline entry). :func:`apply_run` applies a run of
consecutive ledger events with the same statements' arguments, regrouped:

* the run is cut in *layers* (:func:`in_layers`): an invoice's (customer's, parked
  document's) *n*-th event of the run comes in a layer after its *n-1*-th, so each layer
  holds one event per invoice, customer or document at most; a layer's invoices are
  written with one statement per kind (``unnest`` arrays: opened, amount changed, closed),
  its customers and parked documents with ``executemany``;
* a customer's upsert and the events of its invoices keep their order too: the Team
  page's triggers count an invoice in its customer's segment (the invoices' trigger reads
  the customer's row, the customer's trigger moves its invoices), so an invoice event comes
  in a layer after its customer's last upsert before it, and an upsert after the layers of
  its invoices' events before it;
* the money at risk of the items holding the run's invoices is refreshed once, at the end,
  over all of them (three statements), and the run's timeline entries are written in one.

The end state is the one the events give applied one at a time: events of different
invoices, customers and documents touch different rows, and the Team page's tables they
change through the triggers are sums, which add up in any order (an open-invoice count never
goes below zero on the way, since each invoice's own events keep their order). An item's
money at risk is computed from its invoices' rows as they stand: refreshed once after the
run's last change to any of them, it is the value the last of the per-event refreshes left.
Timeline entries are keyed by their event and read by nothing the run writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from contracts import ledger
from contracts.envelope import Event
from services.console import queries
from services.runtime.database import Connection

Statement = tuple[str, tuple[Any, ...]]

# The ledger events a run applies; any other event ends it.
RUN_EVENTS = (
    ledger.LedgerCustomerUpserted,
    ledger.InvoiceOpened,
    ledger.OpenAmountChanged,
    ledger.InvoiceSettled,
    ledger.LedgerInvoiceCancelled,
    ledger.CreditBalanceChanged,
    ledger.UnmatchedCashRecorded,
    ledger.UnmatchedCashCleared,
)
_INVOICE_EVENTS = (
    ledger.InvoiceOpened,
    ledger.OpenAmountChanged,
    ledger.InvoiceSettled,
    ledger.LedgerInvoiceCancelled,
)

# A per-event statement -> the statement applying a layer's worth of them at once, its
# arguments as one array per column.
_SET_BASED = {
    queries.OPEN_INVOICE: queries.OPEN_INVOICES,
    queries.CHANGE_OPEN_AMOUNT: queries.CHANGE_OPEN_AMOUNTS,
    queries.CLOSE_INVOICE: queries.CLOSE_INVOICES,
}
_AT_RISK = frozenset(queries.INVOICE_AT_RISK)


def in_run(event: Event) -> bool:
    return isinstance(event, RUN_EVENTS)


def in_layers(events: Sequence[Event]) -> list[list[Event]]:
    """The run's events by layer, each layer in the run's order.

    An event's layer comes after the layer of the previous event of its invoice, customer
    or parked document; an invoice's event after its customer's last upsert before it, an
    upsert after every event of the customer's invoices before it. Events that change no
    row but their timeline entry (a credit balance's) go in the first layer.
    """
    following: dict[tuple[Any, ...], int] = {}  # an entity's next free layer
    after_upsert: dict[str, int] = {}  # a customer's invoices: the layer after its upsert
    read_in: dict[str, int] = {}  # a customer: the last layer one of its invoices is in
    layers: list[list[Event]] = []
    for event in events:
        payload: Any = event.payload
        layer = 0
        match event:
            case ledger.LedgerCustomerUpserted():
                customer = payload.customer_id
                layer = max(following.get(("customer", customer), 0), read_in.get(customer, -1) + 1)
                following[("customer", customer)] = after_upsert[customer] = layer + 1
            case _ if isinstance(event, _INVOICE_EVENTS):
                customer = payload.customer_id
                invoice = ("invoice", payload.invoice_id)
                layer = max(following.get(invoice, 0), after_upsert.get(customer, 0))
                following[invoice] = layer + 1
                read_in[customer] = max(read_in.get(customer, 0), layer)
            case ledger.UnmatchedCashRecorded() | ledger.UnmatchedCashCleared():
                document = ("unmatched", payload.kind, payload.document_id)
                layer = following.get(document, 0)
                following[document] = layer + 1
        while len(layers) <= layer:
            layers.append([])
        layers[layer].append(event)
    return layers


async def apply_run(
    connection: Connection,
    events: Sequence[Event],
    statements_for: Callable[[Event], list[Statement]],
) -> None:
    """Apply a run of ledger events (each :func:`in_run`) as one at a time would: the
    arguments of each event's ``statements_for`` regrouped by layer and statement."""
    invoices: dict[str, None] = {}  # the run's invoices, in order: their items' money at risk
    timeline: list[tuple[Any, ...]] = []
    for layer in in_layers(events):
        per_event = [statements_for(event) for event in layer]
        for position in range(max((len(s) for s in per_event), default=0)):
            by_sql: dict[str, list[tuple[Any, ...]]] = {}
            for statements in per_event:
                if position >= len(statements):
                    continue
                sql, args = statements[position]
                if sql in _AT_RISK:
                    invoices[args[0]] = None
                elif sql == queries.ADD_TIMELINE_ENTRY:
                    timeline.append(args)
                else:
                    by_sql.setdefault(sql, []).append(args)
            for sql, rows in by_sql.items():
                set_based = _SET_BASED.get(sql)
                if set_based is not None:
                    await connection.execute(set_based, *(list(c) for c in zip(*rows, strict=True)))
                else:
                    await connection.executemany(sql, rows)
    if invoices:
        for sql in queries.INVOICES_AT_RISK:
            await connection.execute(sql, list(invoices))
    if timeline:
        event_ids, customers, at, kinds, facts = zip(*timeline, strict=True)
        await connection.execute(
            queries.ADD_TIMELINE_ENTRIES,
            list(event_ids),
            list(customers),
            list(at),
            list(kinds),
            [json.dumps(f) for f in facts],
        )
