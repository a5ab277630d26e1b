"""The semi-automatic mode's story, scheduler and notifier on real PostgreSQL (a schema each)
with every hop between them through real Kafka and a real SMTP server (aiosmtpd) on loopback,
on a simulated clock: a step to confirm waits as a proposal, the notifier previews it, a
collector edits it (a new version, previewed again), a colleague's approval of the old version
is refused as stale, the edited version is approved, and the SMTP server receives exactly the
edited text, byte for byte as previewed; a second approval sends nothing."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from contracts import commands, dunning, erp, ledger
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import DUNNING_ACTIONS, DUNNING_COMMANDS, NOTIFIER_DELIVERIES, Topic
from services.notifier.app import DEFINITION as NOTIFIER
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.composing.rendering import DEFAULT_TEMPLATES
from services.notifier.dispatcher import Dispatcher
from services.notifier.handler import handle as notifier_handle
from services.notifier.previews import Previews
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor, UnitOfWork
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.outbox import enqueue
from services.runtime.settings import DatabaseSettings
from services.scheduler.app import DEFINITION as SCHEDULER
from services.scheduler.app import policy_of
from services.scheduler.commands import CommandDesk, handler
from services.scheduler.domain.library import DEFAULT_LIBRARY
from services.scheduler.settings import SchedulerSettings
from services.scheduler.tick import Ticker
from services.scheduler.tracking import Tracker
from tests.integration.notifier.harness import Mailbox
from tests.kafka_tools import consume, create_topics, produce, unique

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 12, 1)  # negligent's friendly step falls due on Friday the 4th
OPENING = "Sauf erreur de notre part, les factures ci-dessous sont échues et restent impayées."
REWRITTEN = "Comme convenu au téléphone ce matin, merci de régler la facture F1 sous 48 heures."
MARIE = commands.CommandActor(subject="local:marie", roles=("collector",), company_codes=("FR01",))
PAUL = commands.CommandActor(subject="local:paul", roles=("collector",), company_codes=("FR01",))


def paris(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def fresh(topic: Topic) -> Topic:
    return dataclasses.replace(topic, name=unique(topic.name))


def library(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    path = folder / "negligent.yaml"
    text = path.read_text().replace(
        "template: reminder_friendly}", "template: reminder_friendly, confirm: true}"
    )
    path.write_text(text)
    return folder


def ledger_facts() -> list[Event]:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    money = PositiveMoney(amount="1200.00", currency="EUR")
    return [
        ledger.LedgerCustomerUpserted(
            event_id=uuid.uuid4(),
            occurred_at=at,
            source="ledger",
            payload=ledger.LedgerCustomer(
                customer_id="C1",
                company_code="FR01",
                version=1,
                name="Dupont Industrie",
                country="FR",
                time_zone="Europe/Paris",
                language="fr",
                segment=erp.Segment(payer_profile="negligent"),
                contacts=(
                    erp.Contact(
                        role="billing", name="Claire Martin", email="compta@dupont.example"
                    ),
                ),
            ),
        ),
        ledger.InvoiceOpened(
            event_id=uuid.uuid4(),
            occurred_at=at,
            source="ledger",
            payload=ledger.OpenedInvoice(
                company_code="FR01",
                customer_id="C1",
                invoice_id="FR01/F1",
                invoice_number="F1",
                issue_date=DUE - timedelta(days=30),
                due_date=DUE,
                amount=money,
                open_amount=money,
            ),
        ),
    ]


@dataclasses.dataclass
class Story:
    scheduler_pool: asyncpg.Pool
    notifier_pool: asyncpg.Pool
    clock: SimulatedClock
    kafka: str
    actions: Topic
    commands: Topic
    ticker: Ticker
    scheduler: BatchProcessor
    notifier: BatchProcessor
    dispatcher: Dispatcher
    previews: Previews
    shipped: int = 0
    sent_commands: int = 0

    async def ship_actions(self) -> None:
        """What the scheduler's outbox holds for dunning.actions.v1, through Kafka, into the
        notifier's consumer (a record seen before is a duplicate for its inbox)."""
        rows = await self.scheduler_pool.fetch(
            "SELECT key, value FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_ACTIONS.name
        )
        await produce(
            self.kafka, self.actions.name, [(r["key"], r["value"]) for r in rows[self.shipped :]]
        )
        self.shipped = len(rows)
        records = await consume(self.kafka, self.actions.name, expected=self.shipped)
        outcome = await self.notifier.process([IncomingRecord.of(r) for r in records])
        assert outcome.dead_lettered == 0

    async def command(self, event: Event) -> None:
        """A collector's command through Kafka into the scheduler's consumer."""
        await produce(
            self.kafka, self.commands.name, [(self.commands.key(event), self.commands.value(event))]
        )
        self.sent_commands += 1
        records = await consume(self.kafka, self.commands.name, expected=self.sent_commands)
        await self.scheduler.process([IncomingRecord.of(r) for r in records])

    async def emitted(self) -> list[Event]:
        rows = await self.scheduler_pool.fetch(
            "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", DUNNING_ACTIONS.name
        )
        return [DUNNING_ACTIONS.parse(r["value"]) for r in rows]

    async def dead_letters(self) -> list[str]:
        rows = await self.scheduler_pool.fetch(
            "SELECT headers FROM outbox WHERE topic = $1 ORDER BY id", self.commands.dead_letter
        )
        return [
            dict((n, base64.b64decode(v).decode()) for n, v in json.loads(r["headers"]))[
                "dlq.reason"
            ]
            for r in rows
        ]

    async def previewed(self, version: int) -> tuple[bytes, str]:
        row = await self.notifier_pool.fetchrow(
            "SELECT content, content_sha256 FROM proposal_previews WHERE version = $1", version
        )
        assert row is not None
        return bytes(row["content"]), row["content_sha256"]


def decision(
    kind: Any,
    payload_kind: Any,
    proposal: dunning.Proposal,
    actor: commands.CommandActor,
    **fields: Any,
) -> Event:
    at = datetime(2026, 12, 7, tzinfo=UTC)
    payload = payload_kind(
        command_id=uuid.uuid4(),
        customer_id=proposal.customer_id,
        actor=actor,
        requested_at=at,
        proposal_id=proposal.proposal_id,
        version=proposal.version,
        **fields,
    )
    event: Event = kind(event_id=uuid.uuid4(), occurred_at=at, source="console", payload=payload)
    return event


def proposals(events: Sequence[Event]) -> list[dunning.Proposal]:
    return [e.payload for e in events if isinstance(e, dunning.ProposalRaised)]


def reminders(events: Sequence[Event]) -> list[dunning.Reminder]:
    return [e.payload for e in events if isinstance(e, dunning.ReminderDue)]


async def test_an_edited_proposal_is_approved_and_the_customer_receives_exactly_the_edit(
    database_url: str, kafka_bootstrap: str, mailbox: tuple[Mailbox, int], tmp_path: Path
) -> None:
    box, port = mailbox
    actions, commands_topic = fresh(DUNNING_ACTIONS), fresh(DUNNING_COMMANDS)
    await create_topics(kafka_bootstrap, [actions.name, commands_topic.name], partitions=1)
    assert SCHEDULER.migrations is not None
    assert NOTIFIER.migrations is not None
    await migrations.apply_async(database_url, "scheduler", SCHEDULER.migrations)
    await migrations.apply_async(database_url, "notifier", NOTIFIER.migrations)
    scheduler_pool = await create_pool(DatabaseSettings(url=database_url), "scheduler")
    notifier_pool = await create_pool(DatabaseSettings(url=database_url), "notifier")
    try:
        clock = SimulatedClock(paris(date(2026, 11, 20), 10))
        policy = policy_of(SchedulerSettings(scenarios_path=library(tmp_path)))
        tracker = Tracker(policy)
        settings = NotifierSettings(
            smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=5),
            email=EmailSettings(
                sender="relances@creditor.example", message_id_domain="creditor.example"
            ),
            templates_dir=DEFAULT_TEMPLATES,  # level 1 marks its opening
        )
        adapter = EmailAdapter(
            EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
        )
        deliveries = fresh(NOTIFIER_DELIVERIES)
        dispatcher = Dispatcher(
            notifier_pool, clock, settings, {"email": adapter}, adapter.composer, topic=deliveries
        )
        previews = Previews(notifier_pool, clock, dispatcher, topic=deliveries)
        dispatcher.previews = previews
        story = Story(
            scheduler_pool,
            notifier_pool,
            clock,
            kafka_bootstrap,
            actions,
            commands_topic,
            Ticker(scheduler_pool, clock, policy),
            BatchProcessor(
                "scheduler",
                [commands_topic],
                handler(tracker.apply, CommandDesk(policy)),
                scheduler_pool,
                clock,
            ),
            BatchProcessor("notifier", [actions], notifier_handle, notifier_pool, clock),
            dispatcher,
            previews,
        )
        async with scheduler_pool.acquire() as connection, connection.transaction():
            work = UnitOfWork(connection, clock)
            await tracker.handle(work, ledger_facts())
            await enqueue(connection, work.emitted)
        async with notifier_pool.acquire() as connection, connection.transaction():
            await notifier_handle(UnitOfWork(connection, clock), ledger_facts())

        # Friday the 4th: the friendly step falls due and waits as a proposal
        clock.set(paris(date(2026, 12, 4), 10))
        await story.ticker.run_until_idle()
        (proposed,) = proposals(await story.emitted())
        assert reminders(await story.emitted()) == []
        await story.ship_actions()
        assert await previews.render_all() == 1
        assert await dispatcher.dispatch_all() == 0  # nothing to send: it waits

        # Monday: Marie switches it to a plain email and rewrites its opening
        clock.set(paris(date(2026, 12, 7), 10))
        edit = decision(
            commands.EditProposalCommand,
            commands.EditProposal,
            proposed,
            MARIE,
            channel="email",
            paragraphs={"opening": REWRITTEN},
        )
        await story.command(edit)
        edited = proposals(await story.emitted())[-1]
        assert (edited.version, edited.reminder.channel) == (2, "email")
        await story.ship_actions()
        assert await previews.render_all() == 1
        content, digest = await story.previewed(2)

        # Paul approves what he saw earlier (version 1): refused, stale
        await story.command(
            decision(commands.ApproveProposalCommand, commands.ApproveProposal, proposed, PAUL)
        )
        assert await story.dead_letters() == ["stale_proposal"]
        # Marie approves version 2: the customer gets exactly the edited message
        await story.command(
            decision(commands.ApproveProposalCommand, commands.ApproveProposal, edited, MARIE)
        )
        (sent,) = reminders(await story.emitted())
        assert sent.proposal == dunning.ProposalVersion(proposal_id=proposed.proposal_id, version=2)
        await story.ship_actions()
        assert await dispatcher.dispatch_all() == 1
        ((envelope, message),) = box.received
        assert envelope.rcpt_tos == ["compta@dupont.example"]
        assert envelope.original_content is not None
        assert envelope.original_content.replace(b"\r\n", b"\n") == content.replace(b"\r\n", b"\n")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert REWRITTEN in text
        assert OPENING not in text
        row = await notifier_pool.fetchrow("SELECT status, content_sha256 FROM deliveries")
        assert row is not None
        assert (row["status"], row["content_sha256"]) == ("sent", digest)

        # approving again sends nothing more
        await story.command(
            decision(commands.ApproveProposalCommand, commands.ApproveProposal, edited, PAUL)
        )
        assert await story.dead_letters() == ["stale_proposal", "already_decided"]
        await story.ship_actions()
        assert await dispatcher.dispatch_all() == 0
        assert len(box.received) == 1
    finally:
        await scheduler_pool.close()
        await notifier_pool.close()
