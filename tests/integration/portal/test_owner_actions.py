"""A dispute's owner acts on the page their email links to: answers with a document,
resolves it as justified with the credit note expected; the commands go through the outbox
and Kafka to the disputes service, which records the link's identity; a resolved dispute's
page shows the outcome and refuses changes. Forms without the dispute's own token, tampered
links and another dispute's token are refused (real PostgreSQL and Kafka)."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS
from services.notifier.notices import NoticeComposer
from services.notifier.settings import NotifierSettings
from services.runtime.signed_links import DisputeLinks
from tests.integration.disputes.harness import Disputes
from tests.integration.portal.conftest import Site, feed
from tests.integration.portal.test_owner_attachments import (  # noqa: F401 (fixture)
    PDF,
    _opened,
    disputes_service,
)
from tests.kafka_tools import consume

pytestmark = pytest.mark.integration

DELIVERY_NOTE = b"%PDF-1.7\n% delivery note signed by the carrier\n%%EOF\n"


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _through(site: Site, service: Disputes, expected: int) -> disputes.DisputeEvent:
    """The portal's last command through Kafka to the disputes service, and what it
    published back to the portal's read model."""
    records = await consume(site.bootstrap, site.commands.name, expected=expected)
    command = DISPUTE_COMMANDS.parse(records[-1].value)
    before = len(await service.events())
    await service.feed([command])
    events = await service.events()
    assert len(events) == before + 1, service.rejected
    await feed(site.pool, site.clock, events[-1:])
    return events[-1]  # type: ignore[return-value]


async def test_the_owner_answers_attaches_and_resolves_from_the_emailed_link(
    site: Site,
    disputes_service: Disputes,  # noqa: F811
) -> None:
    opened = await _opened(site, disputes_service, "FR01/F-2026-002", [("bl.pdf", PDF)])
    other = await _opened(
        site, disputes_service, "FR01/F-2026-001", [("x.pdf", PDF + b" ")], sent_before=1
    )
    dispute_id = opened.payload.dispute_id
    links = DisputeLinks(site.settings.links, site.clock)
    email = NoticeComposer(
        NotifierSettings(internal_addresses={"order_administration": "adv@x.example"}),
        owner_links=links,
    ).compose(
        "owner_reminder",
        disputes.OwnerReminder(
            reminder_id=dispute_id,
            dispute_id=dispute_id,
            customer_id=opened.payload.customer_id,
            invoice_ids=opened.payload.invoice_ids,
            owner_role=opened.payload.owner_role,
            due_date=date(2026, 12, 1),
            firmness="gentle",
            escalated_to_manager=False,
        ).model_dump(mode="json"),
        None,
    )
    emailed = re.search(r"(http://\S+/portal/dispute/\S+)", email.text)
    assert emailed is not None, email.text
    owner = emailed.group(1)
    assert owner.startswith(site.base_url)
    other_owner = f"{site.base_url}/portal/dispute/{links.token(other.payload.dispute_id)}"

    async with httpx.AsyncClient(headers={"accept-language": "fr"}) as client:
        page = await client.get(owner)
        assert page.status_code == 200
        assert "Résoudre le litige" in page.text
        german = await client.get(owner, headers={"accept-language": "de-DE,de;q=0.9"})
        assert "Reklamation abschließen" in german.text  # the reader's language
        assert "Antwort senden" in german.text
        token = form_token(page.text)
        other_token = form_token((await client.get(other_owner)).text)

        no_token = await client.post(owner + "/answer", data={"answer": "x"})
        theirs = await client.post(
            owner + "/resolve", data={"form_token": other_token, "outcome": "rejected"}
        )
        tampered = await client.post(
            owner[:-3] + "abc/resolve", data={"form_token": token, "outcome": "rejected"}
        )
        assert (no_token.status_code, theirs.status_code, tampered.status_code) == (403, 403, 403)

        answered = await client.post(
            owner + "/answer",
            data={"form_token": token, "answer": "Le transporteur a signé le BL complet."},
            files=[("attachment", ("BL signé.pdf", DELIVERY_NOTE, "application/pdf"))],
        )
        assert answered.status_code == 303
        event = await _through(site, disputes_service, expected=3)
        assert isinstance(event, disputes.DisputeAnswered)
        assert event.payload.by == f"owner-link:{dispute_id}:{opened.payload.owner_role}"
        (stored,) = event.payload.attachments
        assert site.documents.documents[stored.reference] == DELIVERY_NOTE

        missing = await client.post(
            owner + "/resolve",
            data={"form_token": token, "outcome": "justified", "comment": "Erreur de prix."},
        )
        assert missing.status_code == 422
        assert "Indiquez la référence de l&#39;avoir" in missing.text
        assert "Erreur de prix." in missing.text  # nothing typed is lost

        resolved = await client.post(
            owner + "/resolve",
            data={
                "form_token": token,
                "outcome": "justified",
                "comment": "Erreur de prix.",
                "correction_kind": "credit_note",
                "correction_reference": "AV-2026-7",
                "correction_amount": "120,50",
                "correction_currency": "EUR",
            },
        )
        assert resolved.status_code == 303
        event = await _through(site, disputes_service, expected=4)
        assert isinstance(event, disputes.DisputeResolved)
        assert event.payload.dispute_id == dispute_id
        assert event.payload.outcome == "justified"
        assert event.payload.correction is not None
        assert event.payload.correction.reference == "AV-2026-7"

        after = await client.get(owner)
        download = await client.get(owner + "/attachments/2")
        again = await client.post(owner + "/answer", data={"form_token": token, "answer": "x"})
        still_open = await client.get(other_owner)
    assert "Le transporteur a signé le BL complet." in after.text
    assert "BL signé.pdf" in after.text
    assert "Justifié : nous corrigeons" in after.text
    assert "AV-2026-7" in after.text
    assert "/resolve" not in after.text  # no form once resolved
    assert download.content == DELIVERY_NOTE
    assert again.status_code == 409
    assert "/resolve" in still_open.text  # the other dispute is untouched
