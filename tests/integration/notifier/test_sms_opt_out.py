"""An SMS STOP reported by Twilio (signed incoming-message webhook) silences the number."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest
from twilio.request_validator import RequestValidator

from services.notifier.channels.sms.opt_out import SmsOptOuts
from services.notifier.settings import NotifierSettings
from tests.integration.notifier.harness import Notifier, serve
from tests.integration.notifier.test_sms_and_letters import (  # noqa: F401 (fixtures)
    TOKEN,
    TwilioStandIn,
    notifier,
    settings,
    twilio,
)
from tests.unit.notifier import samples

pytestmark = pytest.mark.integration

INBOUND_URL = "https://notifier.example/sms/inbound"
NUMBER = "+33612345678"  # the accounting contact's phone in samples.customer_upserted


async def _post(port: int, params: dict[str, str], signature: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/sms/inbound",
            data=params,
            headers={"X-Twilio-Signature": signature},
        ) as response,
    ):
        return response.status


async def test_an_sms_stop_suppresses_the_next_sms_as_opted_out(
    notifier: Notifier,  # noqa: F811
    pool: asyncpg.Pool,
    settings: NotifierSettings,  # noqa: F811
    twilio: TwilioStandIn,  # noqa: F811
) -> None:
    configured = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"inbound_url": INBOUND_URL})}
    )
    server = await serve(SmsOptOuts(pool, notifier.clock, configured).routes())
    stop = {"From": NUMBER, "To": "+33100000000", "Body": "STOP", "OptOutType": "STOP"}
    try:
        assert await _post(server.port, stop, "forged") == 403
        assert await pool.fetchval("SELECT count(*) FROM opt_outs") == 0
        signature = RequestValidator(TOKEN).compute_signature(INBOUND_URL, stop)
        assert await _post(server.port, stop, signature) == 200
    finally:
        await server.stop()
    assert await pool.fetchval("SELECT source FROM opt_outs WHERE address = $1", NUMBER) == (
        "sms_stop"
    )

    due = samples.reminder("INV-1", channel="sms", role="accounting", level="level_1")
    await notifier.consume(samples.customer_upserted(), samples.reminder_due(due))
    assert await notifier.dispatcher.dispatch_all() == 1
    assert twilio.requests == []
    row = await notifier.delivery(due.reminder_id)
    assert (row["status"], row["last_error"]) == ("suppressed", "opted_out")
    (event,) = await notifier.published()
    assert (event["event_type"], event["payload"]["reason"]) == (
        "delivery.suppressed",
        "opted_out",
    )


async def test_an_sms_start_lifts_the_opt_out(
    notifier: Notifier,  # noqa: F811
    pool: asyncpg.Pool,
    settings: NotifierSettings,  # noqa: F811
) -> None:
    configured = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"inbound_url": INBOUND_URL})}
    )
    server = await serve(SmsOptOuts(pool, notifier.clock, configured).routes())
    validator = RequestValidator(TOKEN)
    try:
        for body in ("Stop", "START"):  # no OptOutType: the first word is read
            params = {"From": NUMBER, "To": "+33100000000", "Body": body}
            status = await _post(
                server.port, params, validator.compute_signature(INBOUND_URL, params)
            )
            assert status == 200
            count = await pool.fetchval("SELECT count(*) FROM opt_outs")
            assert count == (1 if body == "Stop" else 0)
    finally:
        await server.stop()
