"""Wiring of the notifier service: what it consumes, owns and runs.

It owns the PostgreSQL schema ``notifier`` and reads no other service's tables. The
consumer records deliveries to make; the ``dispatcher`` loop sends them outside the
consumer's transactions; the ``previews`` loop renders proposals (steps to confirm) as they
would be sent. Templates are loaded and rendered against a sample at start, so
a broken template stops the service before it reminds anyone.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import get_args

from contracts.dunning import Channel
from contracts.topics import DISPUTE_EVENTS, DUNNING_ACTIONS, INTEREST_RATES, LEDGER_EVENTS
from services.notifier.channels.adapter import ChannelAdapter
from services.notifier.channels.ar24.client import Ar24Adapter, Ar24Client, Ar24Config
from services.notifier.channels.ar24.tracking import Ar24Tracker
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.bounces import EmailBounces
from services.notifier.channels.email.interactive import InteractiveEmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.channels.letters.file_drop import FileDropAdapter
from services.notifier.channels.maileva.client import (
    MailevaAdapter,
    MailevaClient,
    MailevaConfig,
)
from services.notifier.channels.maileva.tracking import MailevaTracker
from services.notifier.channels.phone.tasks import CallTasks
from services.notifier.channels.sms.adapter import SmsAdapter
from services.notifier.channels.sms.opt_out import SmsOptOuts
from services.notifier.channels.sms.status import SmsStatusCallback
from services.notifier.composing.composer import EmailComposer
from services.notifier.composing.workers import ComposingWorkers, default_workers
from services.notifier.dispatcher import Dispatcher
from services.notifier.domain.sending_time import Place
from services.notifier.handler import handler_for
from services.notifier.notices import NoticeComposer, NoticeSender
from services.notifier.previews import Previews
from services.notifier.proof import ProofArchive
from services.notifier.rate_limit import SharedRateLimiter
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.notifier.suspensions import ReleaseRules
from services.runtime.auth import Authenticator
from services.runtime.clock import Clock
from services.runtime.database import connect
from services.runtime.logs import get_logger
from services.runtime.loops import Loop, Wakeup
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts
from services.runtime.signed_links import CustomerLinks, DisputeLinks

log = get_logger(__name__)
CHANNELS: tuple[str, ...] = tuple(c for c in get_args(Channel) if c != "phone_call")


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, NotifierSettings)
    rate_book = RateBook()
    rates_changed = Wakeup()  # a consumer recorded a rate: the book reloads at once
    await rate_book.refresh(context.pool)  # statements drawn from the first send know them
    composer = EmailComposer.load(settings, rate_book)
    adapters = channel_adapters(settings, composer, customer_links(settings, context.clock))
    for channel in CHANNELS:
        if channel not in adapters:
            log.warning("channel_unavailable", channel=channel)
    workers = (
        settings.composing_workers if settings.composing_workers is not None else default_workers()
    )
    dispatcher = Dispatcher(
        context.pool,
        context.clock,
        settings,
        adapters,
        composer,
        limiter=SharedRateLimiter(context.pool, settings.channel_rates_per_s),
        workers=ComposingWorkers(settings, rate_book, workers) if workers else None,
        listen_connection=functools.partial(
            connect, settings.database, DEFINITION.schema, "notifier-listener"
        ),
        rates_changed=rates_changed,
    )
    if dispatcher.workers is not None:
        await dispatcher.workers.warm_up()  # each loads and checks the templates now
    previews = Previews(
        context.pool, context.clock, dispatcher, interval_s=settings.dispatch_interval_s
    )
    dispatcher.previews = previews
    loops: dict[str, Loop] = {
        "dispatcher": dispatcher.run,
        "previews": previews.run,
        "reference-rates": functools.partial(
            rate_book.run,
            context.pool,
            settings.reference_rates_refresh_s,
            wake=rates_changed,
        ),
    }
    maileva = maileva_client(settings)
    if maileva is not None:
        tracker = MailevaTracker(
            context.pool, context.clock, maileva, interval_s=settings.maileva.poll_interval_s
        )
        loops["letter-tracking"] = tracker.run
    lre = adapters.get("electronic_registered_letter")
    if isinstance(lre, Ar24Adapter):
        lre_tracker = Ar24Tracker(
            context.pool, context.clock, lre.client, interval_s=settings.ar24.poll_interval_s
        )
        loops["lre-tracking"] = lre_tracker.run
    if settings.smtp.host is not None:
        notices = NoticeSender(
            context.pool,
            context.clock,
            settings,
            NoticeComposer(settings, owner_links=owner_links(settings, context.clock)),
            SmtpChannel(settings),
        )
        loops["notices"] = notices.run
    else:
        log.warning("notices_unavailable", reason="no SMTP host: notices stay pending")
    status = SmsStatusCallback(context.pool, context.clock, settings)
    tasks = CallTasks(context.pool, context.clock)
    # people and machines: call tasks and the proof archive; providers keep their own
    # checks (Twilio's signature, the bounce token); customers act on the portal
    auth = Authenticator("notifier", settings.auth, context.clock)
    if not auth.configured:
        log.warning(
            "api_closed", reason="no RELANCE_AUTH_* credential: call tasks and proofs refuse"
        )
    return ServiceParts(
        handler=handler_for(
            ReleaseRules(
                window=settings.sending_window,
                min_gap=settings.min_contact_gap,
                default_place=Place(settings.default_country, settings.default_time_zone),
            )
        ),
        loops=loops,
        routes=[
            status.routes(),
            SmsOptOuts(context.pool, context.clock, settings).routes(),
            EmailBounces(context.pool, context.clock, settings).routes(),
            tasks.routes(auth),
            ProofArchive(context.pool).routes(auth),
            previews.routes(auth),
            auth.sign_in_router(),
        ],
    )


def channel_adapters(
    settings: NotifierSettings, composer: EmailComposer, links: CustomerLinks | None = None
) -> dict[str, ChannelAdapter]:
    """The adapters of the channels configured in this environment; the interactive email
    needs SMTP and the customers' ``links``."""
    adapters: dict[str, ChannelAdapter] = {}
    if settings.smtp.host is not None:
        adapters["email"] = EmailAdapter(composer, SmtpChannel(settings))
    if settings.twilio.account_sid and settings.twilio.auth_token and settings.twilio.sms_from:
        adapters["sms"] = SmsAdapter(
            composer,
            account_sid=settings.twilio.account_sid,
            auth_token=settings.twilio.auth_token.get_secret_value(),
            from_number=settings.twilio.sms_from,
            status_callback_url=settings.twilio.status_callback_url,
            base_url=settings.twilio.base_url,
        )
    if settings.letters.drop_dir is not None:
        drop = FileDropAdapter(composer, settings.letters.drop_dir)
        adapters["postal_letter"] = drop
        adapters["registered_letter"] = drop
    if settings.smtp.host is not None and links is not None:
        adapters["interactive_email"] = InteractiveEmailAdapter(
            composer, SmtpChannel(settings), links
        )
    maileva = maileva_client(settings)
    if maileva is not None:
        adapters["postal_letter"] = MailevaAdapter(composer, maileva, registered=False)
        adapters["registered_letter"] = MailevaAdapter(composer, maileva, registered=True)
    ar24 = ar24_client(settings)
    if ar24 is not None:
        adapters["electronic_registered_letter"] = Ar24Adapter(composer, ar24)
    return adapters


def customer_links(settings: NotifierSettings, clock: Clock) -> CustomerLinks | None:
    """The minter of the interactive emails' links to the portal (``RELANCE_LINKS_*``, shared
    with the portal that checks them), when both its keys and its base URL are set. A key
    too short stops the service at start (``ConfigurationError``)."""
    if not settings.links.configured:
        return None
    return CustomerLinks(settings.links, clock)


def owner_links(settings: NotifierSettings, clock: Clock) -> DisputeLinks | None:
    """The minter of the links in the owners' reminders to their dispute's page on the
    portal (``RELANCE_LINKS_*``), when both its keys and its base URL are set."""
    if not settings.links.configured:
        return None
    return DisputeLinks(settings.links, clock)


def maileva_client(settings: NotifierSettings) -> MailevaClient | None:
    """Maileva's client when its API and credentials are all configured."""
    if not (
        settings.maileva.api_url
        and settings.maileva.client_id
        and settings.maileva.client_secret
        and settings.maileva.username
        and settings.maileva.password
    ):
        return None
    return MailevaClient(
        MailevaConfig(
            api_url=settings.maileva.api_url,
            auth_url=settings.maileva.auth_url,
            client_id=settings.maileva.client_id,
            client_secret=settings.maileva.client_secret.get_secret_value(),
            username=settings.maileva.username,
            password=settings.maileva.password.get_secret_value(),
            notification_email=settings.maileva.notification_email,
        )
    )


def ar24_client(settings: NotifierSettings) -> Ar24Client | None:
    """AR24's client when its API, credentials and sender account are all configured.

    An eIDAS letter also needs the sender's OTP key; without it (and ``ar24.eidas`` left
    on) the channel stays unavailable rather than send letters that are not qualified.
    """
    if not (
        settings.ar24.api_url
        and settings.ar24.token
        and settings.ar24.private_key
        and settings.ar24.sender_user_id
    ):
        return None
    if settings.ar24.eidas and settings.ar24.otp_secret is None:
        log.warning(
            "channel_unavailable",
            channel="electronic_registered_letter",
            reason="eIDAS letters need RELANCE_NOTIFIER_AR24_OTP_SECRET",
        )
        return None
    otp = settings.ar24.otp_secret
    return Ar24Client(
        Ar24Config(
            api_url=settings.ar24.api_url,
            token=settings.ar24.token.get_secret_value(),
            private_key=settings.ar24.private_key.get_secret_value(),
            sender_user_id=settings.ar24.sender_user_id,
            eidas=settings.ar24.eidas,
            otp_secret=otp.get_secret_value() if otp is not None else None,
            timeout_s=settings.ar24.timeout_s,
        )
    )


DEFINITION = ServiceDefinition(
    name="notifier",
    schema="notifier",
    migrations=Path(__file__).parent / "migrations",
    consumes=(DUNNING_ACTIONS, LEDGER_EVENTS, DISPUTE_EVENTS, INTEREST_RATES),
    settings_class=NotifierSettings,
    build=build,
)
