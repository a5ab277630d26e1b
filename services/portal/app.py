"""Wiring of the portal: the customers' internet-facing pages behind signed links.

It owns the PostgreSQL schema ``portal`` and reads no other service's tables. Its read
model is built from the public topics (``ledger.events.v1`` for customers, invoices,
payments and credit notes; ``disputes.events.v1`` for disputes, promises and plans;
``erp.invoices.v1`` for the references of the invoices' copies); what
customers do goes out as commands on ``disputes.commands.v1`` through the outbox. It is
kept apart from the notifier, which holds the providers' credentials: the two share only
the kit's signed links (``services/runtime/signed_links.py``) and their keys.
"""

from __future__ import annotations

from pathlib import Path

from contracts.topics import DISPUTE_EVENTS, ERP_INVOICES, LEDGER_EVENTS
from services.portal.documents import document_store
from services.portal.gocardless import GoCardlessDirectDebit
from services.portal.pages import Pages
from services.portal.projection import apply_events
from services.portal.settings import PortalSettings
from services.portal.stripe import StripeCheckout
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts
from services.runtime.signed_links import CustomerLinks

SCHEMA = "portal"
MIGRATIONS = Path(__file__).parent / "migrations"


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, PortalSettings)
    links = CustomerLinks(settings.links, context.clock)
    checkout = StripeCheckout(settings.stripe) if settings.stripe.secret_key else None
    pages = Pages(
        context.pool,
        context.clock,
        settings,
        links,
        checkout=checkout,
        documents=document_store(settings.documents),
        direct_debit=(
            GoCardlessDirectDebit(settings.gocardless) if settings.gocardless.access_token else None
        ),
    )
    return ServiceParts(handler=apply_events, routes=[pages.routes()])


DEFINITION = ServiceDefinition(
    name="portal",
    schema=SCHEMA,
    migrations=MIGRATIONS,
    consumes=(LEDGER_EVENTS, DISPUTE_EVENTS, ERP_INVOICES),
    settings_class=PortalSettings,
    build=build,
)
