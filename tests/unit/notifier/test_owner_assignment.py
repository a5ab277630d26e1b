"""A dispute's owner is told at once when it opens (or reopens): the customer, the invoices
and their amounts, the category, the customer's words (escaped in HTML), the due date and
the signed link to the dispute's page, at the address of their reminders."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts import disputes
from services.notifier.errors import DeliveryError
from services.notifier.notices import NoticeComposer, owner_assignment_facts
from services.notifier.settings import NotifierSettings
from services.runtime.clock import SimulatedClock
from services.runtime.signed_links import DisputeLinks, SignedLinkSettings

LINKS = SignedLinkSettings(keys=("k" * 40,), base_url="https://portal.example.com")
DISPUTE = uuid.UUID(int=7)
ITEMS = [
    {
        "invoice_id": "FR01/F1",
        "currency": "EUR",
        "amount": Decimal("1200.00"),
        "open_amount": Decimal("1000.00"),
    },
    {
        "invoice_id": "FR01/F2",
        "currency": "EUR",
        "amount": Decimal("500.00"),
        "open_amount": Decimal("500.00"),
    },
]


def opened(owner: str | None = None) -> disputes.OpenedDispute:
    return disputes.OpenedDispute(
        dispute_id=DISPUTE,
        customer_id="C-1",
        invoice_ids=("FR01/F1", "FR01/F2", "FR01/F3"),
        owner_role="order_administration",
        owner=owner,
        due_date=date(2026, 12, 18),
        category="delivery",
        text="Pallets <script>alert(1)</script> & boxes missing",
        raised_by="portal",
    )


def composer(language: str, links: DisputeLinks | None = None) -> NoticeComposer:
    settings = NotifierSettings(
        internal_addresses={"order_administration": "adv@creditor.example"},
        internal_language=language,
    )
    return NoticeComposer(settings, owner_links=links)


def test_the_owner_is_told_everything_with_the_link_and_the_words_escaped() -> None:
    links = DisputeLinks(LINKS, SimulatedClock(datetime(2026, 12, 6, 9, tzinfo=UTC)))
    facts = owner_assignment_facts(opened(), ITEMS)
    composed = composer("en", links).compose("owner_assignment", facts, None)

    assert composed.to == ("adv@creditor.example",)
    assert composed.cc == ()
    assert composed.subject == "New dispute: customer C-1, to solve by December 18, 2026"
    text = composed.text
    assert "A delivery dispute was opened by the customer on their page" in text
    assert "- FR01/F1: €1,000.00 open of €1,200.00" in text
    assert "- FR01/F3\n" in text  # an invoice the notifier has not seen: no amount
    assert "Disputed, open: €1,500.00" in text
    assert "Pallets <script>alert(1)</script> & boxes missing" in text  # plain text as typed
    assert "<script>" not in composed.html
    assert "Pallets &lt;script&gt;alert(1)&lt;/script&gt; &amp; boxes missing" in composed.html
    line = next(x for x in text.splitlines() if "/portal/dispute/" in x)
    assert links.check(line.strip().rsplit("/", 1)[1]) == DISPUTE
    assert f'href="{line.strip()}"' in composed.html


def test_in_french_with_a_named_owner_and_no_links() -> None:
    facts = owner_assignment_facts(opened(owner="paul@creditor.example"), ITEMS)
    composed = composer("fr").compose("owner_assignment", facts, None)
    assert composed.to == ("paul@creditor.example",)
    assert "Un litige (livraison) a été ouvert par le client sur sa page" in composed.text
    assert "1\u202f000,00\u00a0€ ouverts sur 1\u202f200,00\u00a0€" in composed.text
    assert "/portal/dispute/" not in composed.text


def test_a_reopened_dispute_says_who_reopened_it_and_why() -> None:
    reopened = disputes.ReopenedDispute(
        dispute_id=DISPUTE,
        customer_id="C-1",
        invoice_ids=("FR01/F9",),
        whole_account=True,
        owner_role="order_administration",
        due_date=date(2026, 12, 18),
        by="local:anna",
        reason="The credit note never came.",
    )
    facts = owner_assignment_facts(reopened, ITEMS)
    assert [i["invoice_id"] for i in facts["invoices"]] == ["FR01/F9", "FR01/F1", "FR01/F2"]
    composed = composer("en").compose("owner_assignment", facts, None)
    assert composed.subject.startswith("Dispute reopened: customer C-1")
    assert "was reopened by local:anna" in composed.text
    assert "Why it was reopened:\nThe credit note never came." in composed.text
    assert "The whole account is disputed." in composed.text


def test_without_an_address_for_the_role_it_fails_for_good() -> None:
    settings = NotifierSettings(internal_addresses={"sales": "s@x.example"})
    facts = owner_assignment_facts(opened(), ITEMS)
    with pytest.raises(DeliveryError, match="no address for role order_administration") as caught:
        NoticeComposer(settings).compose("owner_assignment", facts, None)
    assert not caught.value.retryable
