"""The kit's signed links: one per customer and company, rotating keys, expiry, tampering."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.runtime.clock import SimulatedClock
from services.runtime.errors import ConfigurationError
from services.runtime.signed_links import (
    CustomerLinks,
    LinkExpired,
    LinkTampered,
    SignedLinkSettings,
)
from tests.unit.portal.samples import NOW

OLD = "the-previous-signing-key-000000001"
NEW = "the-current-signing-key-0000000002"


def links(*keys: str, clock: SimulatedClock | None = None, days: int = 45) -> CustomerLinks:
    settings = SignedLinkSettings(keys=keys, base_url="https://pay.example.com/", valid_days=days)
    return CustomerLinks(settings, clock or SimulatedClock(NOW))


def test_a_link_names_the_customer_and_company_and_when_it_was_signed() -> None:
    minted = links(NEW)
    checked = minted.check(minted.token("C-1", "FR01"))
    assert (checked.customer_id, checked.company_code, checked.signed_at) == ("C-1", "FR01", NOW)
    assert minted.url("C-1", "FR01").startswith("https://pay.example.com/portal/")


def test_one_link_per_customer_and_company() -> None:
    minted = links(NEW)
    assert minted.token("C-1", "FR01") == minted.token("C-1", "FR01")
    assert minted.token("C-1", "FR01") != minted.token("C-1", "DE01")


def test_the_newest_key_signs_and_every_listed_key_verifies() -> None:
    before = links(OLD).token("C-1", "FR01")
    rotated = links(OLD, NEW)
    assert rotated.check(before).customer_id == "C-1"
    after = rotated.token("C-1", "FR01")
    assert links(NEW).check(after).customer_id == "C-1"
    with pytest.raises(LinkTampered):
        links(NEW).check(before)  # the old key dropped: its links stop working


def test_an_expired_link_says_whose_it_was() -> None:
    clock = SimulatedClock(NOW)
    minted = links(NEW, clock=clock, days=30)
    token = minted.token("C-1", "FR01")
    clock.advance(timedelta(days=30, seconds=1))
    with pytest.raises(LinkExpired) as expired:
        minted.check(token)
    assert (expired.value.customer_id, expired.value.company_code) == ("C-1", "FR01")


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: "eyJjIjoiQy0yIiwiZSI6IkZSMDEifQ" + t[t.index(".") :],  # another customer
        lambda t: t.split(".")[0],  # no signature
        lambda t: "",
    ],
)
def test_a_changed_link_is_refused(change: object) -> None:
    minted = links(NEW)
    assert callable(change)
    with pytest.raises(LinkTampered):
        minted.check(change(minted.token("C-1", "FR01")))


def test_keys_must_be_long_and_are_never_shown() -> None:
    with pytest.raises(ConfigurationError) as refused:
        CustomerLinks(SignedLinkSettings(keys=(NEW, "short-secret")), SimulatedClock(NOW))
    assert "key 1" in str(refused.value)
    assert "short-secret" not in str(refused.value)
    assert "short-secret" not in repr(SignedLinkSettings(keys=("short-secret",)))
    with pytest.raises(ConfigurationError):
        CustomerLinks(SignedLinkSettings(), SimulatedClock(NOW))
