"""What should have happened, computed from the generated history alone.

The oracle reads a scenario library's YAML itself and walks each invoice through its
scenario day by day with the rules of the domain, written here independently of the
scheduler's code:

- a customer follows the scenario of the first assignment rule whose conditions all hold
  (``scenario: null``: no reminders);
- a step falls on the due date plus its offset, moved to the next business day of the
  customer's country (weekends and the public holidays of the ``holidays`` package);
- an invoice enters its scenario the day the ledger opens it; on each day, the latest of
  the steps due that it has not taken yet is sent (earlier ones are skipped), and once the
  exit day (due date plus ``max_amicable_days``) has come the invoice escalates instead;
- nothing is sent for an invoice settled or cancelled that day or before, nor, when the
  disputes service pauses disputed invoices, for an invoice under an open dispute or an
  active promise to pay;
- a dispute resolved as rejected brings its invoice back, firmer (docs/scenarios.md: it
  continues at its next step firmer than the last level sent, never sooner than the
  minimum gap after its last reminder, which a dispute of eight days or more has passed,
  nor than the minimum gap after the resolution, which the CRM sends in the morning: the
  next day): on the first business day after the resolution's day, that step is sent if
  its date has come
  (whatever the later steps also due, and even past the exit day), else it waits for its
  date; with only the exit left, the day goes as any other;
- a promise to pay (a CRM's ``promise.record``) holds every invoice it names from the day
  it is recorded; kept (the payment by the promised date), the payment closes them; broken
  (nothing by the promised date plus the disputes service's two days of grace), the
  disputes service says so the next morning (``promise.broken``, in the customer's time
  zone) and the invoices come back firmer at once: on the first business day from that
  day, the step firmer than the last level sent is sent whatever its own date (even past
  the exit day); with only the exit left, the day goes as any other;
- no litigation without a formal notice (docs/scenarios.md): an exit to litigation or a
  collection agency is taken only once every step is due, the formal notice was served
  (sent: the system test's letters go to the ``file_drop`` print room, whose ``delivery.sent``
  serves it) and :data:`NOTICE_DELAY` has passed since; a day whose exit falls due before
  takes the formal notice instead (a catch-up never skips it), or nothing while the delay
  runs;
- on the morning after a silence (a suspension lifted, the scheduler back from its outage)
  the scheduler decides what fell due meanwhile at once, before the day's ledger and CRM
  records arrive (:meth:`Silence.resumes`): a reminder it decides then for an invoice settled
  that day is suppressed by the notifier (:func:`settled_after_decision`);
- nothing is decided on a day the scheduler is away (an outage of the system test) nor,
  for the customers of a company whose sending is suspended, on the days of the suspension
  (:class:`Silence`); the next day it acts, an invoice whose steps fell due meanwhile takes
  only the latest one (the catch-up), or escalates if its exit day has come; nothing is
  decided on a day that is not a business day of the customer's country.

Every message a customer receives must arrive inside the customer's sending window
(09:00-18:00 local, :data:`WINDOW`) on a business day of the customer's country
(:func:`inside_window`).

It is meant for a "simple" history (:attr:`Size.simple`): every invoice of a customer is
issued on one day with one due date, so the invoices of a customer move together and the
scheduler's grouping and minimum gap between contacts never defer a step.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml

from simulation.generator import Customer, History

# the sending window of every customer of the generated histories (the domain's default)
WINDOW = (time(9, 0), time(18, 0))
# the dunning levels, from the gentlest to the firmest (the domain's funnel)
LEVELS = ("preventive", "level_1", "level_2", "formal_notice")
FORMAL_NOTICE = "formal_notice"
# the exits that need a served formal notice first, and the delay after it (the scheduler's
# default, RELANCE_SCHEDULER_FORMAL_NOTICE_DELAY_DAYS, which the system test keeps)
EXITS_AFTER_NOTICE = frozenset({"litigation", "collection_agency"})
NOTICE_DELAY = timedelta(days=8)


@dataclass(frozen=True)
class Silence:
    """Days on which the scheduler decides nothing: for everyone (``down``, an outage) or
    for the customers of a company (``suspended``, company code: day indexes)."""

    down: frozenset[int] = frozenset()
    suspended: dict[str, frozenset[int]] = field(default_factory=dict)

    def holds(self, customer: Customer, day: int) -> bool:
        return day in self.down or day in self.suspended.get(customer.company_code, frozenset())

    def resumes(self, customer: Customer, day: int) -> bool:
        """Whether ``day`` is the first after a silence for the customer: the scheduler comes
        back at 06:00, before the day's records (the controller lifts a suspension, the
        system test starts the scheduler again after its outage, both in the morning), and
        its timers that fell due meanwhile fire at once (for the next instant in the sending
        window)."""
        return not self.holds(customer, day) and self.holds(customer, day - 1)


@dataclass(frozen=True)
class OracleStep:
    name: str
    level: str
    offset_days: int
    channel: str


@dataclass(frozen=True)
class OracleScenario:
    id: str
    max_amicable_days: int
    exit_action: str
    steps: tuple[OracleStep, ...]


@dataclass(frozen=True)
class Expected:
    """One reminder or escalation of one invoice on one simulated day."""

    invoice_id: str
    day: date
    step: str  # the step's name, or "exit:<action>" for an escalation
    level: str
    channel: str


def load(folder: Path) -> tuple[dict[str, OracleScenario], list[dict[str, Any]]]:
    scenarios: dict[str, OracleScenario] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name in ("assignment.yaml", "templates.yaml"):
            continue
        raw = yaml.safe_load(path.read_text())
        scenarios[raw["id"]] = OracleScenario(
            id=raw["id"],
            max_amicable_days=int(raw["max_amicable_days"]),
            exit_action=str(raw["exit_action"]),
            steps=tuple(
                OracleStep(s["name"], s["level"], int(s["offset_days"]), s["channel"])
                for s in raw["steps"]
            ),
        )
    rules = yaml.safe_load((folder / "assignment.yaml").read_text())["rules"]
    return scenarios, list(rules)


def scenario_of(customer: Customer, rules: list[dict[str, Any]]) -> str | None:
    facts = {
        "payer_profile": customer.profile,
        "customer_type": customer.customer_type,
        "market": customer.market,
        "risk_rating": customer.risk,
    }
    for rule in rules:
        when = rule.get("when") or {}
        if all(facts.get(k) in v for k, v in when.items()):
            found = rule.get("scenario")
            return None if found is None else str(found)
    return None


@functools.lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        return frozenset()


def business_day_on_or_after(day: date, country: str) -> date:
    while day.weekday() >= 5 or day in _holidays(country, day.year):
        day += timedelta(days=1)
    return day


def disputed_on(history: History, invoice_id: str, day: int) -> bool:
    return any(
        invoice_id in d.invoice_ids
        and d.opened_day <= day
        and (d.resolved_day is None or d.resolved_day > day)
        for d in history.disputes
    )


def rejected_on(history: History, invoice_id: str) -> list[int]:
    """The days the invoice's disputes were resolved as rejected, in order."""
    return sorted(
        d.resolved_day
        for d in history.disputes
        if invoice_id in d.invoice_ids and d.outcome == "rejected" and d.resolved_day is not None
    )


def promised_on(history: History, invoice_id: str, day: int) -> bool:
    """Whether a promise to pay holds the invoice on ``day``: from the day it is recorded
    until the day it is broken (a kept one holds it until the payment closes it)."""
    return any(
        invoice_id in p.invoice_ids
        and p.recorded_day <= day
        and (p.broken_day is None or p.broken_day > day)
        for p in history.promises
    )


def broken_on(history: History, invoice_id: str) -> list[int]:
    """The days the invoice's promises were broken, in order."""
    return sorted(
        p.broken_day
        for p in history.promises
        if invoice_id in p.invoice_ids and p.broken_day is not None
    )


def firmer_position(scenario: OracleScenario, position: int, last_level: str | None) -> int:
    """The first step from ``position`` firmer than ``last_level`` (all firmer: none sent)."""
    if last_level is None:
        return position
    rank = LEVELS.index(last_level)
    for index in range(position, len(scenario.steps)):
        if LEVELS.index(scenario.steps[index].level) > rank:
            return index
    return len(scenario.steps)


def business_day(day: date, country: str) -> bool:
    return business_day_on_or_after(day, country) == day


def inside_window(customer: Customer, at: datetime) -> bool:
    """Whether ``at`` is inside the customer's sending window, on a business day."""
    local = at.astimezone(ZoneInfo(customer.time_zone))
    return business_day(local.date(), customer.country) and WINDOW[0] <= local.time() < WINDOW[1]


def expected_actions(
    history: History, library: Path, *, disputes_pause: bool, silence: Silence | None = None
) -> set[Expected]:
    """Every reminder and escalation the history calls for, per invoice and day."""
    silence = silence or Silence()
    scenarios, rules = load(library)
    found: set[Expected] = set()
    for invoice in history.invoices.values():
        customer = history.customers[invoice.customer_id]
        scenario_id = scenario_of(customer, rules)
        if scenario_id is None:
            continue
        scenario = scenarios[scenario_id]
        step_days = [
            business_day_on_or_after(
                invoice.due_date + timedelta(days=s.offset_days), customer.country
            )
            for s in scenario.steps
        ]
        exit_day = business_day_on_or_after(
            invoice.due_date + timedelta(days=scenario.max_amicable_days), customer.country
        )
        closed = history.closed_day(invoice.invoice_id)
        rejected = rejected_on(history, invoice.invoice_id) if disputes_pause else []
        broken = broken_on(history, invoice.invoice_id) if disputes_pause else []
        needs_notice = scenario.exit_action in EXITS_AFTER_NOTICE
        position = 0
        last_level: str | None = None
        notice_day: date | None = None  # the day the formal notice was served

        for index in range(max(invoice.issue_day, 0), history.size.days):
            today = history.day_of(index)
            # the morning after a silence, an invoice whose next action fell due meanwhile is
            # decided before the day's ledger and CRM records arrive: what the scheduler knows
            # then is the day before's
            if position < len(scenario.steps):
                next_day = step_days[position]
            elif needs_notice and notice_day is not None:
                next_day = max(exit_day, notice_day + NOTICE_DELAY)
            else:
                next_day = exit_day
            if broken and history.day_of(broken[0]) < next_day:  # a broken promise's timer
                next_day = history.day_of(broken[0])
            # (an invoice a promise held the day before has no timer: nothing fell due)
            held = disputes_pause and promised_on(history, invoice.invoice_id, index - 1)
            overdue = next_day < today and silence.resumes(customer, index) and not held
            known = index - 1 if overdue else index
            if closed is not None and closed <= known:
                break
            if disputes_pause and (
                disputed_on(history, invoice.invoice_id, known)
                or promised_on(history, invoice.invoice_id, known)
                or (rejected and rejected[0] == known)  # the minimum gap after resolution
            ):
                continue
            if silence.holds(customer, index) or not business_day(today, customer.country):
                continue  # a catch-up after a pause waits for a business day too
            resumed = False
            if rejected and rejected[0] < known:  # back from a rejected dispute, firmer
                rejected.pop(0)
                position = firmer_position(scenario, position, last_level)
                resumed = position < len(scenario.steps)
                # the firmer step if its date has come; with only the exit left, nothing
                # here: the exit is due as on any other day
                due = [position] if resumed and step_days[position] <= today else []
            elif broken and broken[0] <= known:  # a promise broken: firmer, at once
                broken.pop(0)
                position = firmer_position(scenario, position, last_level)
                resumed = position < len(scenario.steps)
                # the firmer step whatever its date; with only the exit left, nothing here
                due = [position] if resumed else []
            else:
                due = [i for i in range(position, len(scenario.steps)) if step_days[i] <= today]
            if not resumed and exit_day <= today and len(due) == len(scenario.steps) - position:
                notice_ahead = any(scenario.steps[i].level == FORMAL_NOTICE for i in due)
                served = notice_day is not None and notice_day + NOTICE_DELAY <= today
                if not needs_notice or (not notice_ahead and served):
                    found.add(
                        Expected(
                            invoice.invoice_id, today, f"exit:{scenario.exit_action}", "exit", "-"
                        )
                    )
                    break
            if due:
                # the latest step due, or the first formal notice due: never skipped
                chosen = next((i for i in due if scenario.steps[i].level == FORMAL_NOTICE), due[-1])
                step = scenario.steps[chosen]
                found.add(Expected(invoice.invoice_id, today, step.name, step.level, step.channel))
                last_level, position = step.level, chosen + 1
                if step.level == FORMAL_NOTICE and notice_day is None:
                    notice_day = today
            if closed is not None and closed <= index:
                break  # settled the day of a decision taken before the news
    return found


def settled_after_decision(
    history: History, silence: Silence, invoice_ids: tuple[str, ...], day: int
) -> bool:
    """Whether a reminder decided on ``day`` names only invoices settled or cancelled that
    day, after a decision taken on the morning after a silence (:meth:`Silence.resumes`): the
    notifier, which learns of the payment before the sending instant, suppresses it."""
    return bool(invoice_ids) and all(
        invoice_id in history.invoices
        and history.closed_day(invoice_id) == day
        and silence.resumes(history.customers[history.invoices[invoice_id].customer_id], day)
        for invoice_id in invoice_ids
    )


def busiest_company(history: History, expected: set[Expected], days: range) -> str:
    """The company whose customers the oracle reminds most often on ``days``."""
    dates = {history.day_of(d) for d in days}
    counts: Counter[str] = Counter(
        history.invoices[a.invoice_id].company_code
        for a in expected
        if a.day in dates and a.level != "exit"
    )
    if not counts:
        raise ValueError(f"no reminder at all on days {days.start}-{days.stop - 1}")
    return counts.most_common(1)[0][0]


def affected_invoices(with_: set[Expected], without: set[Expected]) -> set[str]:
    """The invoices whose reminders or escalations differ between two expectations."""
    return {a.invoice_id for a in with_ ^ without}


def expected_open_amounts(history: History) -> dict[str, Decimal]:
    """Each invoice's open amount at the end of the run (0 once settled or cancelled)."""
    last = history.size.days - 1
    amounts: dict[str, Decimal] = {}
    for invoice_id in history.invoices:
        closed = history.closed_day(invoice_id)
        amounts[invoice_id] = (
            Decimal(0)
            if closed is not None and closed <= last
            else history.open_amount(invoice_id, last)
        )
    return amounts
