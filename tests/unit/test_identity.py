"""Identities, roles and portfolios: the pure rules of who may see what."""

from __future__ import annotations

import pytest

from services.runtime.auth import parse_api_keys
from services.runtime.identity import (
    EVERYTHING,
    ROLES,
    Identity,
    LocalTokens,
    Portfolio,
    Refused,
    Role,
    SignInLimiter,
    SignInThrottled,
    Unauthenticated,
    authorize,
    authorize_invoices,
    claim,
    covers,
    covers_invoices,
    parse_signing_keys,
    require_role,
    roles_of,
)

NO_PORTFOLIO = Portfolio()


def person(role: Role | None, portfolio: Portfolio = NO_PORTFOLIO) -> Identity:
    roles: frozenset[Role] = frozenset({role}) if role else frozenset()
    return Identity(f"local:{role}", str(role), roles, portfolio)


@pytest.mark.parametrize("held", ROLES)
@pytest.mark.parametrize("needed", ROLES)
def test_roles_are_ordered_each_including_those_below(held: Role, needed: Role) -> None:
    allowed = ROLES.index(held) >= ROLES.index(needed)
    assert person(held).has(needed) is allowed
    if allowed:
        require_role(person(held), needed)
    else:
        with pytest.raises(Refused) as refused:
            require_role(person(held), needed)
        assert refused.value.reason == "role"


def test_without_a_role_nothing_is_allowed() -> None:
    with pytest.raises(Refused, match="no role"):
        require_role(person(None), "viewer")


@pytest.mark.parametrize(
    ("role", "sees_everything"),
    [("viewer", False), ("collector", False), ("credit_manager", True), ("administrator", True)],
)
def test_without_a_portfolio_only_managers_and_administrators_see_everything(
    role: Role, sees_everything: bool
) -> None:
    assert covers(person(role), company_code="FR01") is sees_everything


def test_a_portfolio_covers_a_resource_matching_any_of_its_criteria() -> None:
    anna = person("collector", Portfolio.of(company_codes=["FR01"], collector_codes=["C12"]))
    assert covers(anna, company_code="FR01")
    assert covers(anna, company_code="DE02", collector_code="C12")
    assert not covers(anna, company_code="DE02", collector_code="C13")
    assert not covers(anna)
    segment = person("viewer", Portfolio.of(segments=["export"]))
    assert covers(segment, company_code="DE02", segment="export")
    with pytest.raises(Refused, match="company DE02, collector C13") as refused:
        authorize(anna, company_code="DE02", collector_code="C13")
    assert refused.value.reason == "portfolio"
    # a credit manager given a portfolio is held to it
    maud = person("credit_manager", Portfolio.of(company_codes=["FR01"]))
    assert not covers(maud, company_code="DE02")
    assert covers(person("viewer", EVERYTHING), company_code="DE02")


def test_every_invoice_of_a_resource_must_be_covered() -> None:
    anna = person("collector", Portfolio.of(company_codes=["FR01"]))
    assert covers_invoices(anna, ["FR01/INV-1", "FR01/INV-2"])
    assert not covers_invoices(anna, ["FR01/INV-1", "DE02/INV-9"])
    assert not covers_invoices(anna, [])
    with pytest.raises(Refused, match="DE02"):
        authorize_invoices(anna, ["FR01/INV-1", "DE02/INV-9"])


def test_roles_and_portfolios_are_read_from_claims() -> None:
    claims = {"realm_access": {"roles": ["offline_access", "collector"]}, "groups": "a, b"}
    assert roles_of(claim(claims, "realm_access.roles")) == {"collector"}
    assert roles_of(["Finance-Managers"], {"Finance-Managers": "credit_manager"}) == {
        "credit_manager"
    }
    assert claim(claims, "groups") == "a, b"
    assert claim(claims, "realm_access.missing") is None


def test_the_limiter_counts_failures_per_account_and_address_in_a_window() -> None:
    limiter = SignInLimiter(max_failures=2, window_s=60)
    limiter.failed("anna", "10.0.0.1", now=0)
    limiter.failed("anna", "10.0.0.2", now=1)
    with pytest.raises(SignInThrottled) as throttled:
        limiter.check("anna", "10.0.0.3", now=2)
    assert throttled.value.retry_after_s == 59
    limiter.check("bruno", "10.0.0.3", now=2)
    limiter.check("anna", "10.0.0.3", now=61)
    limiter.failed("bruno", "10.0.0.9", now=70)
    limiter.failed("carla", "10.0.0.9", now=71)
    with pytest.raises(SignInThrottled):
        limiter.check("dora", "10.0.0.9", now=72)
    limiter.succeeded("anna")


def test_the_limiter_forgets_what_left_the_window() -> None:
    limiter = SignInLimiter(max_failures=2, window_s=60, max_keys=4)
    for n in range(10):
        limiter.failed(f"login-{n}", f"10.0.0.{n}", now=n * 100)
    assert len(limiter._failures) <= 4 + 2


def test_keys_are_validated() -> None:
    with pytest.raises(ValueError, match="shorter than 32"):
        parse_signing_keys("k1:short")
    with pytest.raises(ValueError, match="kid:secret"):
        parse_signing_keys("nokid")
    with pytest.raises(ValueError, match="unknown role"):
        parse_api_keys("boss:crm:" + "x" * 30)
    with pytest.raises(ValueError, match="24"):
        parse_api_keys("viewer:crm:short")
    (machine,) = parse_api_keys("collector:crm:" + "x" * 30).values()
    assert (machine.subject, machine.kind, machine.unrestricted) == (
        "api-key:crm",
        "machine",
        True,
    )


def test_local_tokens_expire_and_carry_the_identity() -> None:
    tokens = LocalTokens(parse_signing_keys("k1:" + "s" * 32), lifetime_s=600)
    bruno = Identity(
        "local:bruno", "Bruno", frozenset({"collector"}), Portfolio.of(collector_codes=["C12"])
    )
    token = tokens.issue(bruno, now=1_000_000)
    assert tokens.verify(token, now=1_000_500) == bruno
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token, now=1_000_700)
    with pytest.raises(Unauthenticated):
        tokens.verify(token[:-4] + "AAAA", now=1_000_100)


def test_the_unknown_accounts_hash_is_made_when_a_users_file_is_read_not_at_import() -> None:
    import subprocess
    import sys

    probe = (
        "import services.runtime.identity as identity\n"
        "print(identity._absent_hash.cache_info().currsize)\n"
        "identity.UsersFile.model_validate({'users': {}})\n"
        "print(identity._absent_hash.cache_info().currsize)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert made == ["0", "1"]  # nothing hashed by importing; ready once accounts are read
