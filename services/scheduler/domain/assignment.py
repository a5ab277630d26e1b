"""Which scenario a customer follows: an explicit choice, else the first matching rule.

Rules are tried in order; the first whose conditions all hold gives the scenario, and a
rule may give ``null``: no reminders (automatic and good payers, by default). Opted-out
customers and invoices are never reminded.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_extra_types.country import CountryAlpha2

from contracts.dunning import ScenarioId
from contracts.erp import CustomerType, Market, PayerProfile, RiskRating, Segment
from contracts.money import CurrencyCode
from services.scheduler.domain.scenario import Rule

NO_PROFILE = "none"
"""Matches customers whose payer profile is not known."""


class Match(Rule):
    """Conditions on a customer; an empty list matches anything."""

    payer_profile: tuple[PayerProfile | str, ...] = ()
    customer_type: tuple[CustomerType, ...] = ()
    market: tuple[Market, ...] = ()
    country: tuple[CountryAlpha2, ...] = ()
    risk_rating: tuple[RiskRating, ...] = ()
    any_tag: tuple[str, ...] = ()
    min_outstanding: Decimal | dict[CurrencyCode, Decimal] | None = Field(
        default=None,
        description=(
            "What the customer owes in one currency at least: an amount applies to each "
            "currency, a map gives one threshold per currency (amounts in different "
            "currencies are never added up)."
        ),
    )

    @field_validator("min_outstanding")
    @classmethod
    def _not_negative(
        cls, value: Decimal | dict[str, Decimal] | None
    ) -> Decimal | dict[str, Decimal] | None:
        amounts = value.values() if isinstance(value, dict) else [value]
        if any(a is not None and a < 0 for a in amounts):
            raise ValueError("min_outstanding cannot be negative")
        return value

    def owes_enough(self, outstanding: Mapping[str, Decimal]) -> bool:
        threshold = self.min_outstanding
        if threshold is None:
            return True
        if isinstance(threshold, dict):
            return any(outstanding.get(c, Decimal(0)) >= t for c, t in threshold.items())
        return any(v >= threshold for v in outstanding.values()) or threshold == 0

    def holds(self, segment: Segment, country: str, outstanding: Mapping[str, Decimal]) -> bool:
        profile = segment.payer_profile or NO_PROFILE
        checks = (
            not self.payer_profile or profile in self.payer_profile,
            not self.customer_type or segment.customer_type in self.customer_type,
            not self.market or segment.market in self.market,
            not self.country or country in self.country,
            not self.risk_rating or segment.risk_rating in self.risk_rating,
            not self.any_tag or bool(set(self.any_tag) & set(segment.tags)),
            self.owes_enough(outstanding),
        )
        return all(checks)


class AssignmentRule(Rule):
    scenario: ScenarioId | None = Field(description="None: no reminders for these customers.")
    when: Match = Match()


class Assignment(Rule):
    rules: tuple[AssignmentRule, ...] = ()
    overrides: dict[str, ScenarioId | None] = Field(
        default_factory=dict, description="Customer id to scenario (or null), before any rule."
    )
    opt_out_customers: frozenset[str] = frozenset()
    opt_out_invoices: frozenset[str] = frozenset()
    opt_out_tag: str = "no-dunning"
    confirm: tuple[Match, ...] = Field(
        default=(),
        description="Customers matching any of these confirm every step (semi-automatic mode).",
    )

    def scenario_for(
        self,
        customer_id: str,
        segment: Segment,
        country: str,
        outstanding: Mapping[str, Decimal] | None = None,
    ) -> str | None:
        """The scenario of a customer, or None when they get no reminders."""
        if customer_id in self.opt_out_customers or self.opt_out_tag in segment.tags:
            return None
        if customer_id in self.overrides:
            return self.overrides[customer_id]
        for rule in self.rules:
            if rule.when.holds(segment, country, outstanding or {}):
                return rule.scenario
        return None

    def invoice_opted_out(self, invoice_id: str) -> bool:
        return invoice_id in self.opt_out_invoices

    def scenario_ids(self) -> set[str]:
        named = {r.scenario for r in self.rules} | set(self.overrides.values())
        return {s for s in named if s is not None}
