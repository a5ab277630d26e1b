"""Which customers a portfolio covers in the scheduler: by company, collector code (the
account team's tag) or segment (the market), per role."""

from __future__ import annotations

import pytest

from contracts.erp import Segment
from services.runtime.identity import EVERYTHING, Identity, Portfolio, Refused
from services.scheduler.domain.portfolio import (
    authorize_customer,
    collector_code,
    customer_covered,
    scope_of,
)

CUSTOMER = scope_of("FR01", Segment(market="domestic", tags=("vip", "collector:C12")))


def identity(role: str, portfolio: Portfolio) -> Identity:
    return Identity(f"local:{role}", role, frozenset({role}), portfolio)  # type: ignore[arg-type]


def test_the_collector_code_is_the_account_teams_tag() -> None:
    assert collector_code(Segment(tags=("collector:C12",))) == "C12"
    assert collector_code(Segment(tags=("vip", "collector:"))) is None
    assert collector_code(Segment()) is None
    assert (CUSTOMER.company_code, CUSTOMER.collector_code, CUSTOMER.segment) == (
        "FR01",
        "C12",
        "domestic",
    )


@pytest.mark.parametrize(
    ("portfolio", "covered"),
    [
        (Portfolio.of(company_codes=["FR01"]), True),
        (Portfolio.of(company_codes=["BE01"]), False),
        (Portfolio.of(collector_codes=["C12"]), True),
        (Portfolio.of(collector_codes=["C34"]), False),
        (Portfolio.of(segments=["domestic"]), True),
        (Portfolio.of(segments=["export"]), False),
        (Portfolio.of(company_codes=["BE01"], collector_codes=["C12"]), True),
        (Portfolio(), False),
        (EVERYTHING, True),
    ],
)
@pytest.mark.parametrize("role", ["viewer", "collector", "credit_manager", "administrator"])
def test_any_one_entry_covers_and_only_managers_without_portfolio_see_everything(
    role: str, portfolio: Portfolio, covered: bool
) -> None:
    who = identity(role, portfolio)
    expected = covered or (portfolio.empty and role in ("credit_manager", "administrator"))
    assert customer_covered(who, CUSTOMER) is expected
    if expected:
        authorize_customer(who, CUSTOMER)
    else:
        with pytest.raises(Refused) as refused:
            authorize_customer(who, CUSTOMER)
        assert refused.value.reason == "portfolio"
        assert "collector C12" in refused.value.detail
