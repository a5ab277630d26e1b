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
  disputes service pauses disputed invoices, for an invoice under an open dispute;
- a dispute resolved as rejected brings its invoice back, firmer (docs/scenarios.md: it
  continues at its next step firmer than the last level sent, never sooner than the
  minimum gap after its last reminder, which a dispute of eight days or more has passed):
  on the first business day from the resolution, that step is sent if its date has come
  (whatever the later steps also due), else it waits for its date;
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


@dataclass(frozen=True)
class Silence:
    """Days on which the scheduler decides nothing: for everyone (``down``, an outage) or
    for the customers of a company (``suspended``, company code: day indexes)."""

    down: frozenset[int] = frozenset()
    suspended: dict[str, frozenset[int]] = field(default_factory=dict)

    def holds(self, customer: Customer, day: int) -> bool:
        return day in self.down or day in self.suspended.get(customer.company_code, frozenset())


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
        position = 0
        last_level: str | None = None
        for index in range(max(invoice.issue_day, 0), history.size.days):
            today = history.day_of(index)
            if closed is not None and closed <= index:
                break
            if disputes_pause and disputed_on(history, invoice.invoice_id, index):
                continue
            if silence.holds(customer, index) or not business_day(today, customer.country):
                continue  # a catch-up after a pause waits for a business day too
            if exit_day <= today:
                found.add(
                    Expected(invoice.invoice_id, today, f"exit:{scenario.exit_action}", "exit", "-")
                )
                break
            if rejected and rejected[0] <= index:  # back from a rejected dispute, firmer
                rejected.pop(0)
                position = firmer_position(scenario, position, last_level)
                if position < len(scenario.steps) and step_days[position] <= today:
                    step = scenario.steps[position]
                    found.add(
                        Expected(invoice.invoice_id, today, step.name, step.level, step.channel)
                    )
                    last_level, position = step.level, position + 1
                continue
            due = [i for i in range(position, len(scenario.steps)) if step_days[i] <= today]
            if due:
                step = scenario.steps[due[-1]]
                found.add(Expected(invoice.invoice_id, today, step.name, step.level, step.channel))
                last_level, position = step.level, due[-1] + 1
    return found


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
