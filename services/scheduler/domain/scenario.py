"""Dunning scenarios: ordered steps anchored on the due date, growing firmer, then an exit.

A scenario is declared in YAML and parsed into :class:`Scenario`. Field-level mistakes
(an unknown channel, a missing field) are reported by pydantic; the rules that span steps
(order, firmness, the end, known templates) by :func:`check_scenario`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.dunning import (
    DUNNING_LEVELS,
    ActorRole,
    Channel,
    DunningLevel,
    EscalationAction,
    InternalRole,
    OnTimeout,
    RecipientRole,
    ScenarioId,
    StepName,
    TemplateName,
)
from contracts.erp import CustomerType

Description = Annotated[str, StringConstraints(max_length=2000)]

INTERNAL_ROLES: Final = frozenset(get_args(InternalRole))
INTERNAL_CHANNELS: Final[frozenset[str]] = frozenset({"email"})
"""How a step reaches a colleague: the notifier addresses an internal role by email (the
customer's account team, or its routing table); a letter, a text or a call would reach the
customer's contacts, never a colleague."""
EXITS_AFTER_NOTICE: Final = frozenset({"litigation", "collection_agency"})
"""The exits that need a delivered formal notice first (a doubtful debt does not: it is an
accounting decision, not a claim against the customer)."""


def is_internal(role: str) -> bool:
    return role in INTERNAL_ROLES


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepConditions(Rule):
    """A step is taken only for invoices and customers that meet every condition given."""

    min_open_amount: Decimal | None = Field(default=None, ge=0)
    customer_types: tuple[CustomerType, ...] = ()


class Step(Rule):
    id: StepName = Field(
        default="",
        description=(
            "The step's identity, which an invoice's progress refers to: it stays when the step "
            "is renamed, moved or edited. Defaults to the step's name."
        ),
    )
    name: StepName
    level: DunningLevel
    offset_days: int = Field(ge=-90, le=365, description="Days from the due date; negative before.")
    channel: Channel
    recipient: RecipientRole = "billing"
    template: TemplateName
    include_penalties: bool = False
    escalating: bool = False
    conditions: StepConditions = StepConditions()
    # semi-automatic mode (services.scheduler.domain.proposals): unset, the scenario's
    confirm: bool | None = None
    confirm_role: ActorRole | None = None
    on_timeout: OnTimeout | None = None
    timeout_business_days: int | None = Field(default=None, ge=1, le=60)

    @model_validator(mode="before")
    @classmethod
    def _identity(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("id") and isinstance(data.get("name"), str):
            return {**data, "id": data["name"]}
        return data

    @property
    def internal(self) -> bool:
        """Addressed to a colleague (sales, order administration, ...), not to the customer."""
        return is_internal(self.recipient)

    @property
    def rank(self) -> int:
        return DUNNING_LEVELS.index(self.level)

    def applies_to(self, open_amount: Decimal, customer_type: CustomerType) -> bool:
        conditions = self.conditions
        if conditions.min_open_amount is not None and open_amount < conditions.min_open_amount:
            return False
        return not conditions.customer_types or customer_type in conditions.customer_types


class Scenario(Rule):
    id: ScenarioId
    description: Description = ""
    max_amicable_days: int = Field(ge=1, le=365)
    exit_action: EscalationAction | None = Field(
        default=None, description="The handover when the amicable phase ends; required."
    )
    steps: tuple[Step, ...] = Field(min_length=1)
    # semi-automatic mode: every step waits for a collector's decision unless it says not
    confirm: bool = False
    confirm_role: ActorRole = "collector"
    on_timeout: OnTimeout = "hold"
    timeout_business_days: int = Field(default=3, ge=1, le=60)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)

    def index_of(self, step_id: str | None) -> int | None:
        """The index of the step ``step_id``; ``len(steps)`` for None (only the exit is
        left); None when the scenario has no such step."""
        if step_id is None:
            return len(self.steps)
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        return None

    def id_at(self, position: int) -> str | None:
        """The identity of the step at ``position``; None past the last step (the exit)."""
        return self.steps[position].id if position < len(self.steps) else None


def check_scenario(scenario: Scenario, templates: frozenset[str]) -> list[tuple[int | None, str]]:
    """The cross-step problems of ``scenario``: (1-based step index or None, message)."""
    problems: list[tuple[int | None, str]] = []
    if scenario.exit_action is None:
        problems.append(
            (
                None,
                "the scenario has no end: give an exit_action (litigation, "
                "collection_agency or doubtful_debt)",
            )
        )
    seen: set[str] = set()
    seen_ids: set[str] = set()
    previous: Step | None = None
    for index, step in enumerate(scenario.steps, start=1):
        if step.name in seen:
            problems.append((index, f"step name {step.name!r} is used twice"))
        seen.add(step.name)
        if step.id in seen_ids:
            problems.append(
                (
                    index,
                    f"step id {step.id!r} is used twice (an id defaults to the step's name): "
                    "each step needs its own identity",
                )
            )
        seen_ids.add(step.id)
        if templates and step.template not in templates:
            problems.append((index, f"unknown template {step.template!r}"))
        if step.internal and step.channel not in INTERNAL_CHANNELS:
            problems.append(
                (
                    index,
                    f"recipient {step.recipient!r} is a colleague, whom a {step.channel} cannot "
                    f"reach: use {', '.join(sorted(INTERNAL_CHANNELS))}",
                )
            )
        if step.internal and step.level == "formal_notice":
            problems.append(
                (index, "a formal notice is addressed to the customer, not a colleague")
            )
        if previous is not None:
            if step.offset_days <= previous.offset_days:
                problems.append(
                    (
                        index,
                        f"steps out of order: offset {step.offset_days} days does not come "
                        f"after {previous.offset_days} days of step {previous.name!r}",
                    )
                )
            if step.rank < previous.rank:
                problems.append(
                    (
                        index,
                        f"firmness goes down: {step.level} after {previous.level} of step "
                        f"{previous.name!r}",
                    )
                )
        if step.offset_days > scenario.max_amicable_days:
            problems.append(
                (
                    index,
                    f"offset {step.offset_days} days is past the end of the amicable phase "
                    f"({scenario.max_amicable_days} days)",
                )
            )
        previous = step
    if scenario.exit_action in EXITS_AFTER_NOTICE and not any(
        s.level == "formal_notice" for s in scenario.steps
    ):
        problems.append(
            (
                None,
                f"no formal notice step: an invoice cannot go to {scenario.exit_action} without "
                "one (add a step of level formal_notice, or end with doubtful_debt)",
            )
        )
    return problems
