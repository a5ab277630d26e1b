"""The owner of a dispute is reminded with a signed link to the dispute's page on the
portal, in both languages; the link opens that dispute and no other."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts import disputes
from services.notifier.notices import NoticeComposer
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from services.runtime.signed_links import (
    CustomerLinks,
    DisputeLinks,
    LinkTampered,
    SignedLinkSettings,
)

KEY = "k" * 40
LINKS = SignedLinkSettings(keys=(KEY,), base_url="https://portal.example.com")
DISPUTE = uuid.UUID(int=42)


def reminder() -> dict[str, object]:
    return disputes.OwnerReminder(
        reminder_id=uuid.UUID(int=1),
        dispute_id=DISPUTE,
        customer_id="C-1",
        invoice_ids=("FR01/F1",),
        owner_role="sales",
        due_date=date(2026, 3, 2),
        firmness="firm",
        escalated_to_manager=False,
    ).model_dump(mode="json")


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "Answer, attach a document or resolve it"), ("fr", "Répondez, joignez un document")],
)
def test_the_owner_reminder_carries_the_dispute_link(language: str, words: str) -> None:
    clock = SimulatedClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    links = DisputeLinks(LINKS, clock)
    composer = NoticeComposer(
        NotifierSettings(internal_addresses={"sales": "s@x.example"}, internal_language=language),
        owner_links=links,
    )
    composed = composer.compose("owner_reminder", reminder(), None)
    line = next(x for x in composed.text.splitlines() if "/portal/dispute/" in x)
    token = line.strip().rsplit("/", 1)[1]
    assert links.check(token) == DISPUTE
    assert words in composed.text
    assert f'href="{line.strip()}"' in composed.html
    # a customer's link checker refuses it: another salt
    with pytest.raises(LinkTampered):
        CustomerLinks(LINKS, clock).check(token)


def test_without_links_configured_the_reminder_has_none() -> None:
    composer = NoticeComposer(
        NotifierSettings(internal_addresses={"sales": "s@x.example"}, internal_language="en")
    )
    composed = composer.compose("owner_reminder", reminder(), None)
    assert "/portal/dispute/" not in composed.text
    assert "Answer, attach" not in composed.text


def test_the_form_token_is_bound_to_its_dispute() -> None:
    links = DisputeLinks(LINKS, SimulatedClock(datetime(2026, 3, 3, tzinfo=UTC)))
    token = links.form_token(DISPUTE)
    assert links.check_form_token(DISPUTE, token)
    assert not links.check_form_token(uuid.UUID(int=43), token)
    assert not links.check_form_token(DISPUTE, token[:-2] + "xx")
