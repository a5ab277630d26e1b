"""A running portal for the integration and browser tests: a fresh database fed with a
customer's account through the kit's batch processor, the pages served by the kit's HTTP
server, and the outbox relayed to a fresh commands topic on the real Kafka."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import asyncpg
import pytest

from contracts.envelope import Event
from contracts.topics import DISPUTE_COMMANDS, DISPUTE_EVENTS, ERP_INVOICES, LEDGER_EVENTS, Topic
from services.portal.app import DEFINITION, SCHEMA
from services.portal.documents import DocumentStoreSettings, document_store
from services.portal.gocardless import GoCardlessDirectDebit, GoCardlessSettings
from services.portal.pages import Pages
from services.portal.projection import apply_events
from services.portal.settings import PortalSettings, StripeSettings
from services.portal.stripe import StripeCheckout
from services.runtime import migrations
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchProcessor
from services.runtime.database import create_pool
from services.runtime.dead_letter import IncomingRecord
from services.runtime.health import HealthState, HttpServer, build_app
from services.runtime.outbox import KafkaRecordSender, OutboxRelay
from services.runtime.settings import DatabaseSettings, KafkaSettings
from services.runtime.signed_links import CustomerLinks, SignedLinkSettings
from tests.integration.portal.document_standin import TOKEN, DocumentServerStandIn
from tests.integration.portal.gocardless_standin import (
    ACCESS_TOKEN,
    GoCardlessStandIn,
)
from tests.integration.portal.gocardless_standin import (
    WEBHOOK_SECRET as GOCARDLESS_SECRET,
)
from tests.integration.portal.stripe_standin import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn
from tests.kafka_tools import create_topics, unique
from tests.unit.portal import samples

KEYS = ("an-old-key-still-verifying-links-0001", "the-current-signing-key-of-links-0002")


@dataclasses.dataclass
class Site:
    base_url: str
    pool: asyncpg.Pool
    clock: SimulatedClock
    links: CustomerLinks
    settings: PortalSettings
    pages: Pages
    commands: Topic
    bootstrap: str
    stripe: StripeStandIn
    documents: DocumentServerStandIn
    gocardless: GoCardlessStandIn = dataclasses.field(default_factory=GoCardlessStandIn)

    def url(self, token: str) -> str:
        return f"{self.base_url}/portal/{token}"

    @property
    def account_url(self) -> str:
        return self.url(self.links.token(samples.CUSTOMER, samples.COMPANY))

    def expired_url(self) -> str:
        past = SimulatedClock(samples.NOW - timedelta(days=self.settings.links.valid_days + 1))
        return self.url(
            CustomerLinks(self.settings.links, past).token(samples.CUSTOMER, samples.COMPANY)
        )

    async def outbox(self) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT topic, value FROM outbox ORDER BY id"))


async def feed(pool: asyncpg.Pool, clock: SimulatedClock, events: Sequence[Event]) -> None:
    """Apply ``events`` through the kit's batch processor, as the consumer would."""
    records = []
    for offset, event in enumerate(events):
        topic = (
            LEDGER_EVENTS
            if event.event_type.startswith("ledger.")
            else ERP_INVOICES
            if event.event_type.startswith("erp.invoice.")
            else DISPUTE_EVENTS
        )
        records.append(IncomingRecord(topic.name, 0, offset, topic.key(event), topic.value(event)))
    await BatchProcessor("portal", DEFINITION.consumes, apply_events, pool, clock).process(records)


@pytest.fixture
async def site(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Site]:
    await migrations.apply_async(database_url, SCHEMA, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), SCHEMA)
    clock = SimulatedClock(samples.NOW)
    await feed(pool, clock, samples.account_events())
    stripe = StripeStandIn()
    stripe_server = HttpServer(build_app(HealthState("stripe"), [stripe.routes()]), "127.0.0.1", 0)
    await stripe_server.start()
    stripe.base_url = f"http://127.0.0.1:{stripe_server.port}"
    documents = DocumentServerStandIn()
    documents.documents["FR01/2026/F-2026-002.pdf"] = samples.COPY_OF_002
    document_server = HttpServer(
        build_app(HealthState("documents"), [documents.routes()]), "127.0.0.1", 0
    )
    await document_server.start()
    gocardless = GoCardlessStandIn()
    gocardless_server = HttpServer(
        build_app(HealthState("gocardless"), [gocardless.routes()]), "127.0.0.1", 0
    )
    await gocardless_server.start()
    gocardless.base_url = f"http://127.0.0.1:{gocardless_server.port}"
    settings = PortalSettings(
        links=SignedLinkSettings(keys=KEYS, base_url="http://127.0.0.1", valid_days=45),
        company_names={"FR01": "Outillage Martin SA"},
        requests_per_minute=1000,
        stripe=StripeSettings(
            api_base=stripe.base_url,
            checkout_origin=stripe.base_url,
            secret_key=SECRET_KEY,
            webhook_secrets=(WEBHOOK_SECRET,),
        ),
        documents=DocumentStoreSettings(
            kind="http",
            base_url=f"http://127.0.0.1:{document_server.port}/documents",
            token=TOKEN,
        ),
        gocardless=GoCardlessSettings(
            api_base=gocardless.base_url,
            flow_origin=gocardless.base_url,
            access_token=ACCESS_TOKEN,
            webhook_secrets=(GOCARDLESS_SECRET,),
        ),
    )
    links = CustomerLinks(settings.links, clock)
    commands = dataclasses.replace(DISPUTE_COMMANDS, name=unique(DISPUTE_COMMANDS.name))
    await create_topics(kafka_bootstrap, [commands.name], partitions=1)
    checkout = StripeCheckout(settings.stripe, conflict_delay_s=0.2)
    pages = Pages(
        pool,
        clock,
        settings,
        links,
        topic=commands,
        checkout=checkout,
        documents=document_store(settings.documents),
        direct_debit=GoCardlessDirectDebit(settings.gocardless),
    )
    server = HttpServer(build_app(HealthState("portal"), [pages.routes()]), "127.0.0.1", 0)
    await server.start()
    settings.links.base_url = f"http://127.0.0.1:{server.port}"  # where payments return
    sender = KafkaRecordSender(
        KafkaSettings(bootstrap_servers=kafka_bootstrap).client_options(), client_id="portal-test"
    )
    await sender.start()
    stop = asyncio.Event()
    relay = OutboxRelay("portal", pool, sender, poll_interval_s=0.1)
    relaying = asyncio.create_task(relay.run(stop))
    yield Site(
        f"http://127.0.0.1:{server.port}",
        pool,
        clock,
        links,
        settings,
        pages,
        commands,
        kafka_bootstrap,
        stripe,
        documents,
        gocardless,
    )
    stop.set()
    await relaying
    await sender.stop()
    await server.stop()
    await checkout.close()
    await stripe_server.stop()
    await document_server.stop()
    await gocardless_server.stop()
    await pool.close()


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """The portal's schema, migrated, in each test's fresh database."""
    return ("portal",)
