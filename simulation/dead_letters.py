"""Every dead letter of a run, accounted for: injected on purpose, or rejected by a rule.

A dead letter is one of:

- **injected**: a bad record of the history (:attr:`History.bad`), dead-lettered with the
  reason the generator expects (:attr:`Record.bad`); a different reason is reported;
- **rejected**: a valid record the simulation did not inject as bad, refused by a service's
  rules (it carries the ``dlq.event_id`` of a parsed event). Two channels can raise the same
  dispute: a collector on a call, then the CRM; the disputes service rightly refuses the
  second (``invoice_already_disputed``), and then the CRM's resolution of the dispute it
  could not open (``unknown_dispute``). Each rejection is explained from the command and, for
  a dispute already held, the dispute that held the invoice;
- **unexplained**: anything else (an invalid record the simulation did not inject): a bug.

Injected records that reached no dead-letter topic are reported as missing. Pure: the caller
reads the topics and the disputes that held the invoices (:func:`disputed_invoices` says
which).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from contracts import disputes
from contracts.envelope import Event
from contracts.topics import DLQ_SUFFIX, by_name
from simulation.generator import Record

EXAMPLES = 5  # rejections shown one by one per topic and reason

RAISED_BY = {
    "collector": "by a collector on a call",
    "customer": "by the customer through the CRM",
    "portal": "by the customer on the portal",
}


@dataclass(frozen=True)
class DeadLetter:
    """One record of a ``<topic>.dlq`` topic, with the ``dlq.*`` headers of the runtime."""

    topic: str  # the topic the record came from
    value: bytes
    reason: str
    detail: str = ""
    service: str = ""
    event_id: str | None = None  # set when the record parsed: refused by a rule

    @classmethod
    def of(cls, dead_letter_topic: str, record: Any) -> DeadLetter:
        """From an aiokafka ``ConsumerRecord`` read on ``dead_letter_topic``."""
        headers = {name: (value or b"").decode() for name, value in (record.headers or ())}
        source = dead_letter_topic.removesuffix(DLQ_SUFFIX)
        return cls(
            topic=headers.get("dlq.topic", source),
            value=bytes(record.value or b""),
            reason=headers.get("dlq.reason", "(no reason)"),
            detail=headers.get("dlq.detail", ""),
            service=headers.get("dlq.service", "?"),
            event_id=headers.get("dlq.event_id"),
        )


@dataclass(frozen=True)
class Holder:
    """A dispute that holds invoices (``disputes.dispute``)."""

    dispute_id: uuid.UUID
    raised_by: str
    opened_at: datetime
    invoice_ids: tuple[str, ...]


@dataclass(frozen=True)
class Injected:
    dead_letter: DeadLetter
    record: Record


@dataclass(frozen=True)
class Rejection:
    dead_letter: DeadLetter
    event: Event | None
    why: str


@dataclass
class Account:
    injected: list[Injected] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    unexplained: list[DeadLetter] = field(default_factory=list)
    missing: list[Record] = field(default_factory=list)  # injected, never dead-lettered
    bad_records: int = 0

    @property
    def total(self) -> int:
        return len(self.injected) + len(self.rejected) + len(self.unexplained)

    @property
    def wrong_reason(self) -> list[Injected]:
        return [i for i in self.injected if i.record.bad != i.dead_letter.reason]

    @property
    def explained(self) -> bool:
        return not self.unexplained and not self.missing and not self.wrong_reason

    def rejected_commands(self, event_type: str, source: str | None = None) -> int:
        return sum(
            1
            for r in self.rejected
            if r.event is not None
            and r.event.event_type == event_type
            and (source is None or r.event.source == source)
        )


def _parse(dead: DeadLetter) -> Event | None:
    try:
        return by_name(dead.topic).parse(dead.value)
    except (KeyError, ValidationError):
        return None


def disputed_invoices(dead_letters: Iterable[DeadLetter]) -> list[str]:
    """The invoices of the dispute openings refused as already disputed (whose holder to read)."""
    found: set[str] = set()
    for dead in dead_letters:
        if dead.reason == "invoice_already_disputed":
            event = _parse(dead)
            if isinstance(event, disputes.OpenDispute):
                found.update(event.payload.invoice_ids)
    return sorted(found)


def _short(value: uuid.UUID) -> str:
    return str(value)[:8]


def _holder_of(
    invoice_ids: Sequence[str], before: datetime, holders: Sequence[Holder], rejected: uuid.UUID
) -> tuple[str, Holder] | None:
    """The latest dispute, opened at ``before`` or earlier, that held one of the invoices."""
    candidates = [
        (invoice_id, h)
        for h in holders
        if h.dispute_id != rejected
        for invoice_id in invoice_ids
        if invoice_id in h.invoice_ids
    ]
    earlier = [c for c in candidates if c[1].opened_at <= before] or candidates
    return max(earlier, key=lambda c: c[1].opened_at) if earlier else None


def _why(
    dead: DeadLetter,
    event: Event | None,
    holders: Sequence[Holder],
    refused_openings: dict[uuid.UUID, date],
) -> str:
    if isinstance(event, disputes.OpenDispute) and dead.reason == "invoice_already_disputed":
        request = event.payload
        held = _holder_of(request.invoice_ids, event.occurred_at, holders, request.dispute_id)
        if held is not None:
            invoice_id, holder = held
            return (
                f"{invoice_id} already in dispute {_short(holder.dispute_id)} since "
                f"{holder.opened_at.date()}, raised "
                f"{RAISED_BY.get(holder.raised_by, 'by ' + holder.raised_by)}: "
                "the same dispute raised twice, the second refused"
            )
    if (
        isinstance(event, disputes.ResolveDispute)
        and dead.reason == "unknown_dispute"
        and event.payload.dispute_id in refused_openings
    ):
        return (
            f"its opening was refused on {refused_openings[event.payload.dispute_id]}: "
            "the dispute never existed"
        )
    return dead.detail or "(no detail)"


def _describe(dead: DeadLetter, event: Event | None) -> str:
    if event is None:
        return f"event {dead.event_id}"
    payload: Any = event.payload
    what = f"{event.source} {event.event_type} of {event.occurred_at.date()}"
    if isinstance(event, disputes.OpenDispute):
        request = event.payload
        return (
            f"{what}, dispute {_short(request.dispute_id)} on {', '.join(request.invoice_ids)} "
            f"({request.customer_id})"
        )
    if isinstance(event, disputes.ResolveDispute):
        resolution = event.payload
        return (
            f"{what}, dispute {_short(resolution.dispute_id)} ({resolution.customer_id}, "
            f"{resolution.outcome})"
        )
    customer = getattr(payload, "customer_id", None)
    return what if customer is None else f"{what} ({customer})"


def _gate(topic: str) -> str:
    """The topic's first consumer, which refuses every bad record of it."""
    try:
        consumers = by_name(topic).consumers
    except KeyError:
        return "?"
    return consumers[0] if consumers else "?"


def account(
    dead_letters: Sequence[DeadLetter],
    bad: Sequence[Record],
    holders: Sequence[Holder] = (),
) -> Account:
    """Sort every dead letter into injected, rejected by a rule, or unexplained."""
    found = Account(bad_records=len(bad))
    # every consumer of a topic refuses its bad records on its own (the portal reads
    # erp.invoices.v1 beside ingestion): each service has its own list to match, and the
    # topic's first consumer, its gate, must refuse every one
    waiting: dict[str, defaultdict[tuple[str, bytes], list[Record]]] = {}

    def waiting_for(service: str) -> defaultdict[tuple[str, bytes], list[Record]]:
        if service not in waiting:
            waiting[service] = defaultdict(list)
            for record in bad:
                waiting[service][(record.topic, record.value)].append(record)
        return waiting[service]

    others: list[DeadLetter] = []
    for dead in dead_letters:
        pending = waiting_for(dead.service).get((dead.topic, dead.value))
        if pending:
            found.injected.append(Injected(dead, pending.pop(0)))
        elif dead.event_id is not None:
            others.append(dead)
        else:
            found.unexplained.append(dead)
    found.missing = [r for r in bad if r in waiting_for(_gate(r.topic)).get((r.topic, r.value), [])]
    parsed = [(dead, _parse(dead)) for dead in others]
    refused_openings = {
        event.payload.dispute_id: event.occurred_at.date()
        for _, event in parsed
        if isinstance(event, disputes.OpenDispute)
    }
    for dead, event in parsed:
        if event is None:
            found.unexplained.append(dead)
        else:
            found.rejected.append(
                Rejection(dead, event, _why(dead, event, holders, refused_openings))
            )
    return found


def summary_lines(found: Account) -> list[str]:
    """The demo summary's account of the dead letters, by topic and reason."""
    lines: list[str] = []
    add = lines.append
    verdict = (
        "every one explained" if found.explained else "NOT all explained (see the lines marked !)"
    )
    add(
        f"Dead letters: {found.total}, {verdict}: {found.bad_records} bad records injected "
        f"on purpose, {len(found.rejected)} records refused by the services' rules"
        + (f", {len(found.unexplained)} unexplained" if found.unexplained else "")
    )
    # a topic read by several services (erp.invoices.v1: ingestion and the portal) has its
    # bad records refused by each of them: more dead letters than bad records
    add(
        f"  injected on purpose ({len(found.injected)} dead letters of the {found.bad_records} "
        "bad records, each refused by every service reading its topic):"
    )
    by_topic: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for item in found.injected:
        by_topic[item.dead_letter.topic][item.dead_letter.reason] += 1
    for topic, reasons in sorted(by_topic.items()):
        add(f"    {topic}: " + ", ".join(f"{k} {n}" for k, n in sorted(reasons.items())))
    for item in found.wrong_reason:
        add(
            f"  ! {item.record.kind} on {item.record.topic} was dead-lettered as "
            f"{item.dead_letter.reason}, not {item.record.bad}"
        )
    for record in found.missing:
        add(f"  ! {record.kind} on {record.topic} ({record.bad}) reached no dead-letter topic")
    if found.rejected:
        add(f"  refused by the services' rules ({len(found.rejected)}):")
    groups: defaultdict[tuple[str, str, str], list[Rejection]] = defaultdict(list)
    for rejection in found.rejected:
        dead = rejection.dead_letter
        groups[(dead.topic, dead.service, dead.reason)].append(rejection)
    for (topic, service, reason), rejections in sorted(groups.items()):
        add(f"    {topic} ({service}): {reason} {len(rejections)}")
        for rejection in rejections[:EXAMPLES]:
            add(f"      {_describe(rejection.dead_letter, rejection.event)}")
            add(f"        because {rejection.why}")
        if len(rejections) > EXAMPLES:
            add(f"      and {len(rejections) - EXAMPLES} more")
    for dead in found.unexplained:
        add(f"  ! {dead.topic} ({dead.service}): {dead.reason}, not injected: {dead.detail}")
    return lines
