"""A reminder's exact copy and proofs, from the real notifier to the console's page.

The notifier (its dispatcher, composer and SMTP channel, on real PostgreSQL, a loopback SMTP
server) emails a reminder; its own ``delivery.sent`` from the outbox reaches the console's
read model; the console then reads the copy and proofs from the notifier's real proof
archive over HTTP with its machine key: the page shows the subject and the text, the frame's
route serves the HTML the customer received, the PDF route the statement attached.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from contracts import notifications
from contracts.topics import LEDGER_EVENTS, NOTIFIER_DELIVERIES
from services.console.settings import ConsoleSettings
from services.console.web.pages import Console
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import SAMPLE_RATES, EmailComposer
from services.notifier.dispatcher import Dispatcher
from services.notifier.proof import ProofArchive
from services.notifier.reference_rates import RateBook
from services.notifier.settings import EmailSettings, NotifierSettings, SmtpSettings
from services.runtime import migrations
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from services.runtime.database import create_pool
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.settings import DatabaseSettings
from tests.integration.console.conftest import feed
from tests.integration.console.test_browser import PASSWORD, USERS
from tests.integration.notifier.conftest import mailbox  # noqa: F401 (the fixture)
from tests.integration.notifier.harness import Mailbox, Notifier
from tests.kafka_tools import unique
from tests.unit.notifier import samples
from tests.unit.notifier.conftest import companies_file  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.integration

KEY = "console-archive-key-0123456789"
NOTIFIER_MIGRATIONS = Path(__file__).parents[3] / "services" / "notifier" / "migrations"


@pytest.fixture
async def notifier_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, "notifier", NOTIFIER_MIGRATIONS)
    pool = await create_pool(DatabaseSettings(url=database_url), "notifier")
    yield pool
    await pool.close()


async def test_the_console_shows_what_the_notifier_sent(
    pool: asyncpg.Pool,
    notifier_pool: asyncpg.Pool,
    mailbox: tuple[Mailbox, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    box, port = mailbox
    settings = NotifierSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=5),
        email=EmailSettings(
            sender="relances@creditor.example", message_id_domain="creditor.example"
        ),
    )
    clock = SimulatedClock(samples.NOW)
    topic = dataclasses.replace(NOTIFIER_DELIVERIES, name=unique(NOTIFIER_DELIVERIES.name))
    adapter = EmailAdapter(
        EmailComposer.load(settings, RateBook(SAMPLE_RATES)), SmtpChannel(settings)
    )
    dispatcher = Dispatcher(
        notifier_pool, clock, settings, {"email": adapter}, adapter.composer, topic=topic
    )
    notifier = Notifier(notifier_pool, clock, dispatcher, topic.name)
    customer = samples.customer_upserted()
    await notifier.consume(customer, samples.reminder_due(samples.reminder("INV-1", "INV-2")))
    assert await dispatcher.dispatch_all() == 1
    (_, received) = box.received[0]
    sent = [
        notifications.DeliverySent.model_validate(e)
        for e in await notifier.published()
        if e["event_type"] == "delivery.sent"
    ]
    assert len(sent) == 1
    delivery_id = sent[0].payload.delivery_id
    await feed(pool, [(LEDGER_EVENTS, customer), (NOTIFIER_DELIVERIES, sent[0])])

    notifier_auth = Authenticator(
        "notifier", AuthSettings(api_keys=SecretStr(f"collector:console:{KEY}")), clock
    )
    archive = HttpServer(
        build_app(HealthState("notifier"), [ProofArchive(notifier_pool).routes(notifier_auth)]),
        "127.0.0.1",
        0,
    )
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    console_clock = SimulatedClock(samples.NOW + timedelta(hours=1))
    auth = AuthSettings(users_file=users, signing_keys="k1:" + "s" * 40)
    await archive.start()
    console_settings = ConsoleSettings(
        auth=auth,
        notifier_url=f"http://127.0.0.1:{archive.port}",
        notifier_api_key=SecretStr(KEY),
        secure_cookies=False,
    )
    console = Console(
        pool, console_clock, console_settings, Authenticator("console", auth, console_clock)
    )
    server = HttpServer(build_app(HealthState("console"), [console.router()]), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            sign_in = await client.get("/sign-in")
            csrf = sign_in.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = await client.post(
                "/sign-in",
                data={"login": "dominique", "password": PASSWORD, "csrf_token": csrf},
            )
            assert signed.status_code == 303
            customer_page = await client.get("/customers/C-1001")
            assert f'href="/deliveries/{delivery_id}"' in customer_page.text

            page = await client.get(f"/deliveries/{delivery_id}")
            assert page.status_code == 200
            assert str(received["Subject"]) in page.text
            plain = received.get_body(("plain",))
            assert plain is not None
            first_line = plain.get_content().strip().splitlines()[0]
            assert first_line in page.text
            archived = await notifier_pool.fetchval(
                "SELECT content_sha256 FROM deliveries WHERE delivery_id = $1", delivery_id
            )
            assert archived in page.text  # the proofs: the SHA-256 of the copy archived

            frame = await client.get(f"/deliveries/{delivery_id}/message")
            assert frame.status_code == 200
            assert frame.headers["content-security-policy"].startswith("sandbox;")
            html = received.get_body(("html",))
            assert html is not None
            # the same HTML (the SMTP transport wrote its lines with CRLF)
            assert frame.text.replace("\r\n", "\n") == html.get_content().replace("\r\n", "\n")

            pdf = await client.get(f"/deliveries/{delivery_id}/pdf")
            assert pdf.status_code == 200
            attached = next(
                p for p in received.iter_attachments() if p.get_content_type() == "application/pdf"
            )
            assert pdf.content == attached.get_payload(decode=True)
    finally:
        await server.stop()
        await archive.stop()
    content = await notifier_pool.fetchval(
        "SELECT content FROM deliveries WHERE delivery_id = $1", delivery_id
    )
    assert hashlib.sha256(bytes(content)).hexdigest() == archived
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(content))
    assert isinstance(parsed, EmailMessage)
