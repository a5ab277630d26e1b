"""A decision on a proposal as its command, and a rendering as the collector reads it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from uuid import uuid4

from contracts import commands
from contracts.dunning import ProposalVersion
from contracts.topics import DUNNING_COMMANDS
from services.console.domain.commands import FormProblem
from services.console.domain.previews import pdf_of, preview_of, text_of_html
from services.console.domain.proposals import (
    bulk_approval_of,
    decision_of,
    fields_of,
    selected_of,
)

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
ACTOR = commands.CommandActor(subject="local:camille", roles=("collector",))
PROPOSAL = uuid4()


def decide(decision: str, form: dict[str, str], paragraphs: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return decision_of(
        decision,
        fields_of(form),
        command_id=uuid4(),
        customer_id="C-1001",
        proposal_id=PROPOSAL,
        version=3,
        current_paragraphs=paragraphs or {},
        current_channel="email",
        current_recipient_role="billing",
        actor=ACTOR,
        now=NOW,
        today=NOW.date(),
    )


def test_an_approval_cites_the_version_seen() -> None:
    event = decide("approve", {})
    assert isinstance(event, commands.ApproveProposalCommand)
    assert (event.payload.proposal_id, event.payload.version) == (PROPOSAL, 3)
    assert DUNNING_COMMANDS.key(event) == b"C-1001"


def test_an_edit_sends_only_what_changed() -> None:
    event = decide(
        "edit",
        {
            "paragraph.opening": "Bonjour,",
            "paragraph.closing": "Cordialement",
            "new_paragraph_name": "",
            "new_paragraph_text": "",
            "channel": "email",
            "recipient_role": "accounting",
        },
        paragraphs={"opening": "Bonjour,", "closing": "Bien à vous"},
    )
    assert isinstance(event, commands.EditProposalCommand)
    edit = event.payload
    assert (edit.paragraphs, edit.channel, edit.recipient_role) == (
        {"closing": "Cordialement"},
        None,
        "accounting",
    )


def test_an_edit_that_changes_nothing_or_empties_a_paragraph_is_refused() -> None:
    assert decide("edit", {"channel": "email", "recipient_role": "billing"}) == [
        FormProblem("form", "unchanged")
    ]
    assert decide("edit", {"paragraph.opening": " "}, {"opening": "Bonjour"}) == [
        FormProblem("paragraph.opening", "missing")
    ]
    assert decide("edit", {"new_paragraph_text": "Bonjour"}) == [
        FormProblem("new_paragraph_name", "missing")
    ]
    assert decide("edit", {"channel": "pigeon"}) == [FormProblem("channel", "invalid")]


def test_a_postponement_needs_a_later_day_and_a_skip_a_reason() -> None:
    assert decide("postpone", {}) == [FormProblem("until", "missing")]
    assert decide("postpone", {"until": "2026-03-16"}) == [FormProblem("until", "not_after_today")]
    assert decide("postpone", {"until": "lundi"}) == [FormProblem("until", "not_a_date")]
    event = decide("postpone", {"until": "2026-03-20"})
    assert isinstance(event, commands.PostponeProposalCommand)
    assert event.payload.until == date(2026, 3, 20)
    assert decide("skip", {"reason": ""}) == [FormProblem("reason", "missing")]
    skipped = decide("skip", {"reason": "paid by phone"})
    assert isinstance(skipped, commands.SkipProposalCommand)
    assert skipped.payload.reason == "paid by phone"


def test_the_same_form_is_the_same_event() -> None:
    command_id = uuid4()
    first, second = (
        decision_of(
            "approve",
            {},
            command_id=command_id,
            customer_id="C-1001",
            proposal_id=PROPOSAL,
            version=1,
            current_paragraphs={},
            current_channel="email",
            current_recipient_role=None,
            actor=ACTOR,
            now=NOW,
            today=NOW.date(),
        )
        for _ in range(2)
    )
    assert not isinstance(first, list)
    assert not isinstance(second, list)
    assert first.event_id == second.event_id


def test_a_bulk_approval_of_the_ticked_proposals() -> None:
    a, b = uuid4(), uuid4()
    chosen = [
        c for c in selected_of([f"{a}:2", f"{b}:1", f"{a}:2"]) if isinstance(c, ProposalVersion)
    ]
    event = bulk_approval_of(chosen, command_id=uuid4(), actor=ACTOR, now=NOW)
    assert isinstance(event, commands.ApproveProposalsCommand)
    assert [(p.proposal_id, p.version) for p in event.payload.proposals] == [(a, 2), (b, 1)]
    assert DUNNING_COMMANDS.key(event) == b"local:camille"
    assert selected_of([]) == [FormProblem("proposal", "missing")]
    assert selected_of(["not-a-uuid:1"]) == [FormProblem("proposal", "invalid")]


def _email(html_only: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "relance@example.com"
    message["To"] = "compta@example.com"
    message["Subject"] = "Facture INV-1"
    html = (
        "<html><head><style>p{}</style></head><body><p>Bonjour <b>vous</b></p>"
        "<script>x()</script><p>2 &amp; 3</p></body></html>"
    )
    if html_only:
        message.set_content(html, subtype="html")
    else:
        message.set_content("Bonjour <b>vous</b>")
        message.add_alternative(html, subtype="html")
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="r.pdf")
    return message.as_bytes()


def test_an_email_is_read_as_its_plain_text_with_its_pdf() -> None:
    preview = preview_of("message/rfc822", _email())
    assert (preview.subject, preview.recipients, preview.pdf_name) == (
        "Facture INV-1",
        "compta@example.com",
        "r.pdf",
    )
    assert preview.text.strip() == "Bonjour <b>vous</b>"
    assert pdf_of("message/rfc822", _email()) == ("r.pdf", b"%PDF-1.4")


def test_an_html_only_email_is_read_as_text_without_scripts() -> None:
    preview = preview_of("message/rfc822", _email(html_only=True))
    assert preview.text == "Bonjour vous\n2 & 3"
    assert pdf_of("message/rfc822", _email(html_only=True)) is None
    assert text_of_html("<script>alert(1)</script>ok") == "ok"


def test_a_text_message_and_a_letter() -> None:
    sms = preview_of("application/json", b'{"to": "+33600000000", "body": "Relance INV-1"}')
    assert (sms.recipients, sms.text) == ("+33600000000", "Relance INV-1")
    letter = preview_of("application/pdf", b"%PDF-1.4")
    assert letter.pdf_name == "letter.pdf"
    assert pdf_of("application/pdf", b"%PDF-1.4") == ("letter.pdf", b"%PDF-1.4")
