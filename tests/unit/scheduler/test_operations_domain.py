"""Operators' commands as the scheduler decides them: who may suspend, resume or launch a
campaign, the campaign a command carries, and the fingerprint of a dry run."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from contracts.commands import CampaignSpec
from services.runtime.identity import EVERYTHING, Identity, Portfolio
from services.scheduler.domain.campaign import Target, fingerprint
from services.scheduler.domain.operations import authorize_scope, campaign_of
from services.scheduler.errors import CommandRejected
from tests.unit.scheduler.test_campaign import TODAY, campaign, client, invoice

NONE = Portfolio()


def identity(role: str, portfolio: Portfolio = NONE) -> Identity:
    return Identity(f"local:{role}", role, frozenset({role}), portfolio)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("who", "scope", "allowed"),
    [
        (identity("collector", EVERYTHING), ("FR01",), False),
        (identity("viewer"), ("FR01",), False),
        (identity("credit_manager"), ("FR01",), True),  # no portfolio: every customer
        (identity("credit_manager"), (), True),
        (identity("credit_manager", Portfolio.of(company_codes=["FR01"])), ("FR01",), True),
        (identity("credit_manager", Portfolio.of(company_codes=["FR01"])), ("BE01",), False),
        (identity("credit_manager", Portfolio.of(company_codes=["FR01"])), (), False),
        (
            identity("credit_manager", Portfolio.of(company_codes=["FR01"])),
            ("FR01", "BE01"),
            False,
        ),
        (identity("credit_manager", Portfolio.of(collector_codes=["C12"])), ("FR01",), False),
        (identity("administrator"), (), True),
    ],
)
def test_only_credit_managers_and_administrators_act_on_companies_of_their_portfolio(
    who: Identity, scope: tuple[str, ...], allowed: bool
) -> None:
    if allowed:
        authorize_scope(who, scope)
        return
    with pytest.raises(CommandRejected) as refused:
        authorize_scope(who, scope)
    assert refused.value.reason == "forbidden"


SPEC = {
    "id": "year-end",
    "description": "Before closing the books",
    "step": {"name": "year-end-email", "level": "level_1", "channel": "email", "template": "t"},
    "select": {
        "company_codes": ["FR01"],
        "customers": {"customer_type": ["business"]},
        "min_days_overdue": 1,
        "min_open_amount": "100.00",
    },
}


def test_a_commands_campaign_is_the_schedulers_own_checked_against_the_library() -> None:
    spec = CampaignSpec.model_validate(SPEC)
    found = campaign_of(spec, frozenset({"t"}))
    assert found.select.company_codes == ("FR01",)
    assert found.select.customers.customer_type == ("business",)
    assert found.select.min_open_amount == Decimal("100.00")
    with pytest.raises(CommandRejected) as unknown:
        campaign_of(spec, frozenset({"other"}))
    assert (unknown.value.reason, "unknown template 't'" in unknown.value.detail) == (
        "invalid_campaign",
        True,
    )
    empty_range = CampaignSpec.model_validate(
        {**SPEC, "select": {"min_days_overdue": 30, "max_days_overdue": 10}}
    )
    with pytest.raises(CommandRejected) as bad:
        campaign_of(empty_range, frozenset({"t"}))
    assert bad.value.reason == "invalid_campaign"


def test_the_fingerprint_changes_with_the_recipients_their_invoices_and_the_campaign() -> None:
    a = Target(client("C-1"), (invoice("C-1", "F1", TODAY, "120.00"),))
    b = Target(client("C-2"), (invoice("C-2", "F2", TODAY, "80.00"),))
    shown = fingerprint(campaign(), [a, b])
    assert len(shown) == 64
    assert fingerprint(campaign(), [b, a]) == shown  # the order of the query does not count
    assert fingerprint(campaign(), [a]) != shown  # a customer left the selection
    paid = Target(b.customer, (replace(b.invoices[0], open_amount=Decimal("30.00")),))
    assert fingerprint(campaign(), [a, paid]) != shown  # a partial payment
    assert fingerprint(campaign(min_days_overdue=5), [a, b]) != shown  # another campaign
