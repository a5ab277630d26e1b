"""Proposals on top of the console's story: steps waiting for a collector's confirmation.

- Atelier Dubois (``C-1001``) has a level 2 email proposed for INV-1 and INV-2 (1,500 €
  open), rendered by the notifier with a PDF statement attached;
- ``C-666`` has a level 1 email proposed for INV-9 (900 €), rendered;
- Nordwind (``C-2001``, outside C12's portfolio) has one too.

:func:`rendered_email` builds the bytes the notifier would serve for a version, and
:func:`rendered` the ``notifier.proposal.rendered`` that announces their digest.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from email.message import EmailMessage

from contracts import dunning, notifications
from contracts.envelope import Event
from contracts.topics import DUNNING_ACTIONS, NOTIFIER_DELIVERIES, Topic
from tests.integration.console.story import NOW, _dunned, uid

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OPENING = "Sauf erreur de notre part, les factures suivantes restent impayées."


def rendered_email(customer: str, version: int, opening: str = OPENING) -> bytes:
    message = EmailMessage()
    message["From"] = "Relance <relance@example.com>"
    message["To"] = "compta@example.com"
    message["Subject"] = f"Relance : factures impayées ({customer})"
    message.set_content(
        f"Madame, Monsieur,\n\n{opening}\n\n<b>INV-1</b> 700,00 €\n\nCordialement,\n"
        f"Service recouvrement (version {version})\n"
    )
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="releve-C-1001.pdf")
    message.set_boundary(f"relance-{customer}-{version}")  # the same bytes each time
    return message.as_bytes()


def raised(
    name: str,
    customer: str,
    company: str,
    invoices: tuple[dunning.DunnedInvoice, ...],
    version: int = 1,
    paragraphs: dict[str, str] | None = None,
    deadline_days: int = 3,
) -> dunning.ProposalRaised:
    when = NOW + timedelta(days=version - 1, hours=1)
    return dunning.ProposalRaised(
        event_id=uid(f"proposal {name} v{version}"),
        occurred_at=when,
        source="scheduler",
        payload=dunning.Proposal(
            proposal_id=uid(f"proposal {name}"),
            version=version,
            customer_id=customer,
            reminder=dunning.Reminder(
                reminder_id=uid(f"proposal reminder {name}"),
                customer_id=customer,
                company_code=company,
                scenario_id="standard",
                step_name="level_2_email",
                level="level_2",
                channel="email",
                recipient_role="billing",
                template="level_2",
                language="fr",
                include_penalties=True,
                escalating=False,
                scheduled_for=when,
                invoices=invoices,
            ),
            confirm_role="collector",
            deadline=NOW + timedelta(days=deadline_days),
            remind_owner_at=NOW + timedelta(days=deadline_days - 1),
            on_timeout="hold",
            paragraphs=paragraphs or {},
            edited_by="local:camille" if version > 1 else None,
        ),
    )


def rendered(
    name: str, customer: str, version: int, content: bytes, at: datetime
) -> notifications.ProposalRendered:
    proposal_id = uid(f"proposal {name}")
    return notifications.ProposalRendered(
        event_id=uid(f"rendered {name} v{version}"),
        occurred_at=at,
        source="notifier",
        payload=notifications.ProposalRendering(
            proposal_id=proposal_id,
            version=version,
            customer_id=customer,
            channel="email",
            rendered=True,
            digest=hashlib.sha256(content).hexdigest(),
            media_type="message/rfc822",
            size=len(content),
            recipients=("compta@example.com",),
            preview_path=f"/proposals/{proposal_id}/{version}",
            at=at,
        ),
    )


def decided(
    name: str, customer: str, version: int, decision: dunning.ProposalDecision
) -> dunning.ProposalClosed:
    return dunning.ProposalClosed(
        event_id=uid(f"decided {name}"),
        occurred_at=NOW + timedelta(days=1),
        source="scheduler",
        payload=dunning.ProposalDecided(
            proposal_id=uid(f"proposal {name}"),
            version=version,
            customer_id=customer,
            company_code="FR01",
            decision=decision,
            by="local:camille",
            at=NOW + timedelta(days=1),
        ),
    )


DUBOIS = ("FR01/INV-1", "FR01/INV-2")


def proposal_events() -> list[tuple[Topic, Event]]:
    inv1 = _dunned("FR01", "INV-1", date(2026, 1, 31), "1200", "700")
    inv2 = _dunned("FR01", "INV-2", date(2026, 3, 3), "800", "800")
    inv9 = _dunned("FR01", "INV-9", date(2026, 2, 1), "900", "900")
    nd1 = _dunned("DE02", "INV-D1", date(2026, 1, 10), "5000", "5000")
    dubois = raised("dubois", "C-1001", "FR01", (inv1, inv2))
    script = raised("script", "C-666", "FR01", (inv9,), deadline_days=2)
    nordwind = raised("nordwind", "C-2001", "DE02", (nd1,))
    at = NOW + timedelta(hours=2)
    return [
        (DUNNING_ACTIONS, dubois),
        (DUNNING_ACTIONS, script),
        (DUNNING_ACTIONS, nordwind),
        (NOTIFIER_DELIVERIES, rendered("dubois", "C-1001", 1, rendered_email("C-1001", 1), at)),
        (NOTIFIER_DELIVERIES, rendered("script", "C-666", 1, rendered_email("C-666", 1), at)),
    ]
