"""What did happen, read back after a run, and its comparison with the oracle.

Read back: the scheduler's decisions and the notifier's deliveries from their topics (from
the beginning), the dead-letter topics, the ledger's and reporting's invoices, and what the
loopback providers received. Each check adds a line to :attr:`Verdict.lines` and, when it
fails, to :attr:`Verdict.failures`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts.disputes import PromiseBroken, PromiseKept
from contracts.dunning import EscalationRaised, ReminderDue
from contracts.notifications import DeliverySent
from contracts.topics import ALL_TOPICS, DISPUTE_EVENTS, DUNNING_ACTIONS, NOTIFIER_DELIVERIES
from simulation.cluster import read_topic
from simulation.generator import History
from simulation.letters_law import LAWS, Addressee, demo_rates, law_verdict, letters_in
from simulation.oracle import (
    Expected,
    Silence,
    disputed_on,
    expected_actions,
    expected_open_amounts,
    inside_window,
    promised_on,
    settled_after_decision,
)
from simulation.run import Run


@dataclass(frozen=True)
class Contact:
    """One message a stand-in received for a customer, at a simulated instant."""

    kind: str  # email, sms, postal_letter, registered_letter, promise_confirmation
    customer_id: str | None  # None: the stand-in's record names no known customer
    received_at: datetime | None
    reference: str  # a Message-ID, a phone number, a letter's name


@dataclass
class Sent:
    reminder_id: str
    channel: str
    day: date
    invoice_ids: tuple[str, ...]
    attempt: int


@dataclass
class Outcome:
    """The facts of a run that a second run must reproduce."""

    actions: set[Expected] = field(default_factory=set)
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)
    sent: dict[tuple[str, str], Sent] = field(default_factory=dict)
    reminder_days: dict[str, date] = field(default_factory=dict)
    # dead letters of the topic's first consumer, its gate (ingestion for the ERP topics)
    dead_letters: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    # dead letters of the topic's other consumers (the portal also reads erp.invoices.v1)
    other_dead_letters: Counter[tuple[str, bytes]] = field(default_factory=Counter)
    ledger: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    reporting: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    providers: dict[str, int] = field(default_factory=dict)
    email_ids: Counter[str] = field(default_factory=Counter)
    sms_requests: int = 0
    letters: int = 0
    resent_after_lease: int = 0
    contacts: list[Contact] = field(default_factory=list)
    reminder_customers: dict[str, str] = field(default_factory=dict)
    reminder_invoices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the promises the disputes service announced broken (with the day) and kept
    promises_broken: dict[str, date] = field(default_factory=dict)
    promises_kept: set[str] = field(default_factory=set)


@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, line: str, detail: Any = None) -> None:
        self.lines.append(("ok    " if ok else "FAIL  ") + line)
        if not ok:
            self.failures.append(line + ("" if detail is None else f": {detail}"))


async def outcome_of(run: Run) -> Outcome:
    bootstrap = run.options.bootstrap
    found = Outcome()
    seen: set[str] = set()
    for record in await read_topic(bootstrap, DUNNING_ACTIONS.name):
        event = DUNNING_ACTIONS.parse(record.value)
        if str(event.event_id) in seen:
            continue  # a relay that published twice publishes the same event id
        seen.add(str(event.event_id))
        if isinstance(event, ReminderDue):
            reminder = event.payload
            day = event.occurred_at.date()
            found.reminder_days[str(reminder.reminder_id)] = day
            found.reminder_customers[str(reminder.reminder_id)] = reminder.customer_id
            found.reminder_invoices[str(reminder.reminder_id)] = tuple(
                i.invoice_id for i in reminder.invoices
            )
            for invoice in reminder.invoices:
                found.actions.add(
                    Expected(
                        invoice.invoice_id,
                        day,
                        reminder.step_name,
                        reminder.level,
                        reminder.channel,
                    )
                )
                found.decisions[(invoice.invoice_id, reminder.step_name)] += 1
        elif isinstance(event, EscalationRaised):
            day = event.occurred_at.date()
            for invoice in event.payload.invoices:
                found.actions.add(
                    Expected(invoice.invoice_id, day, f"exit:{event.payload.action}", "exit", "-")
                )
                found.decisions[(invoice.invoice_id, "exit")] += 1
    for record in await read_topic(bootstrap, NOTIFIER_DELIVERIES.name):
        event = NOTIFIER_DELIVERIES.parse(record.value)
        if isinstance(event, DeliverySent):
            p = event.payload
            key = (str(p.reminder_id), p.channel)
            attempt = 1
            found.sent.setdefault(
                key, Sent(str(p.reminder_id), p.channel, p.at.date(), p.invoice_ids, attempt)
            )
    for record in await read_topic(bootstrap, DISPUTE_EVENTS.name):
        event = DISPUTE_EVENTS.parse(record.value)
        if isinstance(event, PromiseBroken):
            found.promises_broken[str(event.payload.promise_id)] = event.occurred_at.date()
        elif isinstance(event, PromiseKept):
            found.promises_kept.add(str(event.payload.promise_id))
    for topic in ALL_TOPICS:
        for record in await read_topic(bootstrap, topic.dead_letter):
            headers = dict(record.headers or ())
            service = (headers.get("dlq.service") or b"").decode()
            gate = not topic.consumers or service in ("", topic.consumers[0])
            book = found.dead_letters if gate else found.other_dead_letters
            book[(topic.name, bytes(record.value))] += 1
    for r in await run.fetch(
        "SELECT company_code || '/' || invoice_number AS invoice_id, status, open_amount "
        "FROM ledger.invoices"
    ):
        found.ledger[r["invoice_id"]] = (r["status"], Decimal(r["open_amount"]))
    for r in await run.fetch("SELECT invoice_id, status, open_amount FROM reporting.invoices"):
        found.reporting[r["invoice_id"]] = (r["status"], Decimal(r["open_amount"]))
    found.resent_after_lease = int(
        await run.scalar(
            "SELECT count(*) FROM notifier.delivery_attempts a JOIN notifier.deliveries d "
            "USING (delivery_id) WHERE a.attempt > 1 AND d.status = 'sent'"
        )
    )
    assert run.providers is not None
    found.contacts = await contacts_of(run, found.reminder_customers)
    found.providers = run.providers.counts()
    found.email_ids = run.providers.smtp.message_ids()
    found.sms_requests = run.providers.sms.count()
    found.letters = run.providers.letters.count()
    return found


async def contacts_of(run: Run, reminder_customers: dict[str, str]) -> list[Contact]:
    """Every email, SMS and letter the stand-ins received for a customer, with its instant.

    Reminder emails name their reminder in their Message-ID (``<reminder-{id}.{channel}@``),
    notices theirs (``<notice-{id}@``: owner reminders and assignments go to the creditor's
    own people and are left out, promise confirmations go to the customer); SMS are matched to the
    customer by the number the notifier recorded for the delivery; letters name the
    customer in their manifest.
    """
    assert run.providers is not None
    notices = {
        str(r["notice_id"]): (r["kind"], r["customer_id"])
        for r in await run.fetch("SELECT notice_id, kind, customer_id FROM notifier.notices")
    }
    phones: dict[str, str] = {}
    for r in await run.fetch(
        "SELECT customer_id, recipients FROM notifier.deliveries WHERE channel = 'sms'"
    ):
        for number in r["recipients"] or ():
            phones[str(number)] = r["customer_id"]
    found: list[Contact] = []
    for email in run.providers.smtp.emails():
        if (key := email.reminder_key) is not None:
            customer = reminder_customers.get(key[0])
            found.append(Contact("email", customer, email.received_at, email.message_id))
        elif (notice_id := email.notice_id) is not None:
            kind, customer = notices.get(notice_id, ("unknown notice", None))
            if kind not in ("owner_reminder", "owner_assignment"):
                found.append(Contact(kind, customer, email.received_at, email.message_id))
        else:
            found.append(Contact("email", None, email.received_at, email.message_id))
    sms = run.providers.sms
    for form, at in zip(sms.requests, sms.received_at, strict=True):
        number = form.get("To", "")
        found.append(Contact("sms", phones.get(number), at, number))
    for manifest, at in run.providers.letters.stamped():
        found.append(
            Contact(
                str(manifest.get("channel", "letter")),
                manifest.get("customer_id"),
                at,
                str(manifest.get("document", "")),
            )
        )
    return found


def contact_checks(run: Run, found: Outcome, v: Verdict, *, suspension: bool) -> None:
    """Nothing outside the customer's sending window or on a non-business day; nothing to
    a customer of a suspended company while suspended."""
    customers = run.history.customers
    unknown = [c for c in found.contacts if c.customer_id not in customers or not c.received_at]
    v.check(
        not unknown,
        f"every message the providers received names a known customer and its instant "
        f"({len(found.contacts)} messages)",
        [(c.kind, c.reference) for c in unknown[:5]],
    )
    outside = [
        (c.kind, c.customer_id, str(c.received_at), customers[c.customer_id].time_zone)
        for c in found.contacts
        if c.customer_id in customers
        and c.received_at is not None
        and not inside_window(customers[c.customer_id], c.received_at)
    ]
    v.check(
        not outside,
        f"nothing outside the customer's sending window or on a non-business day "
        f"(emails, SMS, letters, promise confirmations): {len(outside)} outside",
        outside[:5],
    )
    if not suspension:
        return
    record = run.suspension
    if record is None:
        v.check(False, "a suspension was planned and played", "no suspension in this run")
        return
    plan = record.plan
    v.check(
        not record.problems and record.suspended_at is not None and record.resumed_at is not None,
        f"suspension of {plan.company_code} from day {plan.first_day} to day "
        f"{plan.resume_day} played (relance scheduler suspend / resume)",
        record.problems,
    )
    start, end = record.suspended_at, record.resumed_at
    if start is None:
        return
    during = [
        (c.kind, c.customer_id, str(c.received_at))
        for c in found.contacts
        if c.customer_id in customers
        and customers[c.customer_id].company_code == plan.company_code
        and c.received_at is not None
        and start <= c.received_at
        and (end is None or c.received_at < end)
    ]
    v.check(
        not during,
        f"nothing reached a customer of {plan.company_code} while its sending was suspended "
        f"({start} to {end}): {len(during)} messages",
        during[:5],
    )


def promise_checks(history: History, found: Outcome, v: Verdict) -> None:
    """The disputes service broke each promise not paid by its date plus the grace, on the
    oracle's day (the morning after the grace, in the customer's time zone), and kept the
    others once paid."""
    last = history.size.days - 1
    broken = {
        str(p.promise_id): history.day_of(p.broken_day)
        for p in history.promises
        if p.broken_day is not None and p.broken_day <= last
    }
    kept = {
        str(p.promise_id)
        for p in history.promises
        if p.broken_day is None
        and all((history.closed_day(i) or last + 1) <= last for i in p.invoice_ids)
    }
    v.check(
        found.promises_broken == broken and found.promises_kept == kept,
        f"promises to pay: {len(found.promises_broken)} broken and {len(found.promises_kept)} "
        f"kept by the disputes service, the history's {len(broken)} and {len(kept)}, broken "
        "on their day",
        {"broken": sorted(found.promises_broken.items()), "expected": sorted(broken.items())},
    )


def addressees_of(history: History) -> dict[str, Addressee]:
    """Each customer as the letters' check needs them: country, company, language, type."""
    return {
        c.customer_id: Addressee(c.country, c.company_code, c.language, c.customer_type)
        for c in history.customers.values()
    }


def silence_of(run: Run, down: frozenset[int] = frozenset()) -> Silence:
    """The days the oracle must keep silent: an outage's, and the planned suspension's."""
    plan = run.options.suspension
    if plan is None:
        return Silence(down)
    days = frozenset(range(plan.first_day, plan.resume_day))
    return Silence(down, {plan.company_code: days})


def verdict(
    run: Run,
    found: Outcome,
    library: Path,
    *,
    disputes_pause: bool,
    silence: Silence | None = None,
    suspension: bool = True,
) -> Verdict:
    """The run's outcome checked against the oracle.

    ``silence``: the days the scheduler was away or a company suspended (default: the
    run's planned suspension). ``suspension``: check that the planned suspension was played
    and that nothing reached the suspended company's customers meanwhile.
    """
    history = run.history
    v = Verdict()
    silence = silence if silence is not None else silence_of(run)
    expected = expected_actions(history, library, disputes_pause=disputes_pause, silence=silence)
    missing = expected - found.actions
    unexpected = found.actions - expected
    v.check(
        not missing and not unexpected,
        f"reminders and escalations: {len(found.actions)} per invoice and day, oracle "
        f"{len(expected)} (same day, step, level, channel)",
        {
            "missing": sorted(missing, key=str)[:5],
            "unexpected": sorted(unexpected, key=str)[:5],
            "n_missing": len(missing),
            "n_unexpected": len(unexpected),
            # where they are: per day and company (a suspension, an outage show at once)
            "missing_by_day": sorted(
                Counter(
                    (str(a.day), history.invoices[a.invoice_id].company_code) for a in missing
                ).items()
            ),
            "unexpected_by_day": sorted(
                Counter(
                    (str(a.day), history.invoices[a.invoice_id].company_code)
                    for a in unexpected
                    if a.invoice_id in history.invoices
                ).items()
            ),
        },
    )
    twice = {k: n for k, n in found.decisions.items() if n > 1}
    v.check(not twice, "no step decided twice for an invoice", list(twice.items())[:5])

    # every reminder delivered, on its day, on its channel
    reminders = found.reminder_days
    sent_ids = {rid for rid, _ in found.sent}
    undelivered = sorted(rid for rid in reminders if rid not in sent_ids)
    # decided the morning after a silence (a suspension lifted, the scheduler back from an
    # outage), before the day's payments settled every invoice it names: the notifier must
    # suppress it (the oracle's ``settled_after_decision``)
    suppressed = sorted(
        rid
        for rid, day in reminders.items()
        if settled_after_decision(
            history, silence, found.reminder_invoices.get(rid, ()), (day - history.size.start).days
        )
    )
    v.check(
        undelivered == suppressed,
        f"every reminder delivered: {len(found.sent)} sent for {len(reminders)} reminders, "
        f"{len(suppressed)} decided before the day's payment that settled their invoices "
        "(suppressed)",
        {"undelivered": undelivered[:5], "suppressed": suppressed[:5]},
    )
    late = [
        s
        for s in found.sent.values()
        if s.reminder_id in reminders and s.day != reminders[s.reminder_id]
    ]
    v.check(
        len(late) <= found.resent_after_lease,
        f"deliveries on the reminder's day: {len(found.sent) - len(late)}; later: {len(late)} "
        f"(allowed: the {found.resent_after_lease} resent after a crash left them sending)",
        [(s.reminder_id, s.day) for s in late[:5]],
    )
    # never about an invoice settled or disputed before the send
    index_of = {history.day_of(i): i for i in range(history.size.days)}
    wrong = []
    for s in found.sent.values():
        day = index_of.get(s.day)
        for invoice_id in s.invoice_ids:
            closed = history.closed_day(invoice_id)
            if day is None or (closed is not None and closed <= day):
                wrong.append((s.reminder_id, invoice_id, "settled"))
            elif disputes_pause and disputed_on(history, invoice_id, day):
                wrong.append((s.reminder_id, invoice_id, "disputed"))
            elif disputes_pause and promised_on(history, invoice_id, day):
                wrong.append((s.reminder_id, invoice_id, "promised"))
    v.check(
        not wrong,
        "no delivery about an invoice settled, cancelled, disputed or under a promise to pay "
        "before it",
        wrong[:5],
    )
    if disputes_pause:
        promise_checks(history, found, v)

    # providers: what the notifier says it sent arrived, and how many twice
    by_channel = Counter(s.channel for s in found.sent.values())
    letters = by_channel["postal_letter"] + by_channel["registered_letter"]
    unique_emails = len(found.email_ids)
    duplicates = {
        "email": sum(n - 1 for n in found.email_ids.values()),
        "sms": found.sms_requests - by_channel["sms"],
    }
    v.check(
        unique_emails == by_channel["email"],
        f"SMTP server received {unique_emails} distinct emails for {by_channel['email']} sent",
    )
    v.check(
        found.sms_requests >= by_channel["sms"],
        f"Twilio stand-in received {found.sms_requests} SMS for {by_channel['sms']} sent",
    )
    v.check(
        found.letters == letters, f"print room received {found.letters} letters for {letters} sent"
    )
    # the letters abroad: their company's language and law (docs/law.md)
    assert run.providers is not None
    addressees = addressees_of(history)
    abroad = {c for c, a in addressees.items() if a.country in LAWS}
    law = law_verdict(letters_in(run.providers.letters.directory, abroad), addressees, demo_rates())
    v.check(law.ok(require_each=not history.size.simple), law.line(), law.problems[:5])
    allowed = found.resent_after_lease
    v.check(
        duplicates["email"] + duplicates["sms"] <= allowed,
        f"duplicates at the providers: {duplicates} (the notifier's crash window allows "
        f"{allowed}: deliveries sent again after their lease expired)",
    )

    contact_checks(run, found, v, suspension=suspension)

    # the money: generator, ledger and reporting agree to the cent
    expected_amounts = expected_open_amounts(history)
    for name, book in (("ledger", found.ledger), ("reporting", found.reporting)):
        missing_invoices = set(expected_amounts) - set(book)
        extra = set(book) - set(expected_amounts)
        diff = [
            (i, a, book[i])
            for i, a in expected_amounts.items()
            if i in book and (book[i][1] if book[i][0] == "open" else Decimal(0)) != a
        ]
        v.check(
            not missing_invoices and not extra and not diff,
            f"{name}: {len(book)} invoices, open amounts equal the generator's to the cent",
            {"missing": sorted(missing_invoices)[:5], "extra": sorted(extra)[:5], "diff": diff[:5]},
        )
    per_customer: defaultdict[str, Decimal] = defaultdict(Decimal)
    for invoice_id, amount in expected_amounts.items():
        per_customer[history.invoices[invoice_id].customer_id] += amount
    ledger_customer: defaultdict[str, Decimal] = defaultdict(Decimal)
    for invoice_id, (status, amount) in found.ledger.items():
        if status == "open" and invoice_id in history.invoices:
            ledger_customer[history.invoices[invoice_id].customer_id] += amount
    v.check(
        {k: a for k, a in per_customer.items() if a}
        == {k: a for k, a in ledger_customer.items() if a},
        f"open amounts per customer agree ({sum(per_customer.values()):,.2f} in total)",
    )

    # dead letters: exactly the bad records
    injected = Counter((r.topic, r.value) for r in history.bad)
    v.check(
        found.dead_letters == injected,
        f"dead-lettered {sum(found.dead_letters.values())} records, injected "
        f"{sum(injected.values())} bad ones: the same records",
        {
            "missing": len(injected - found.dead_letters),
            "unexpected": [k[1][:120] for k in (found.dead_letters - injected)][:5],
        },
    )
    # another consumer of the same topic refuses bad records too, never a good one
    v.check(
        not set(found.other_dead_letters) - set(injected),
        f"the topics' other consumers dead-lettered {sum(found.other_dead_letters.values())} "
        "records, all of them bad ones",
        {"unexpected": [k[1][:120] for k in set(found.other_dead_letters) - set(injected)][:5]},
    )
    return v


def comparable(found: Outcome, outage: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """What must be identical between an undisturbed run and a run with faults.

    ``outage``: the invoices whose reminders the oracle itself expects to differ because
    the scheduler was away for a day in the run with faults (its catch-up); their reminders
    and deliveries are left out of the comparison (the oracle checks them in each run).
    """
    return {
        "actions": sorted(
            (a.invoice_id, str(a.day), a.step, a.channel)
            for a in found.actions
            if a.invoice_id not in outage
        ),
        "ledger": sorted((k, v[0], str(v[1])) for k, v in found.ledger.items()),
        "reporting": sorted((k, v[0], str(v[1])) for k, v in found.reporting.items()),
        "dead_letters": sorted((k[0], k[1].hex(), n) for k, n in found.dead_letters.items()),
        "sent": sorted(
            (k[0], k[1]) for k, s in found.sent.items() if not set(s.invoice_ids) & outage
        ),
    }


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
