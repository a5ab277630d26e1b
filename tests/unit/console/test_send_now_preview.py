"""The confirmation page of *Send now* with the scheduler's dry run: what goes out (invoices,
step, template, level, channel, the message in a sandboxed frame), a refusal and why, and a
preview unavailable that still lets the collector confirm."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

from services.console.domain.previews import Preview
from services.console.read_model import Customer
from services.console.scheduler import SchedulerOperations
from services.console.settings import ConsoleSettings
from services.console.web.actions import rehearse
from services.console.web.i18n import Pages
from services.console.web.pages import Console, customer_url

CUSTOMER = Customer(
    "C-1001", "FR01", "Dupont <b>SA</b>", "FR", "fr", "business", "domestic", "low", None, "C12", []
)
REMINDER: dict[str, Any] = {
    "scenario_id": "negligent",
    "step_name": "first-reminder",
    "template": "reminder_friendly",
    "level": "level_1",
    "channel": "email",
    "scheduled_for": "2026-12-15T10:00:00+01:00",
    "invoices": [
        {"invoice_number": "INV-1", "open_amount": {"amount": "1200.00", "currency": "EUR"}}
    ],
}


def render(**values: Any) -> str:
    pages = Pages("en")
    pages.environments["en"].globals["customer_url"] = customer_url
    return pages.render(
        "en",
        "action.html",
        csrf_field="csrf_token",
        csrf_token="t" * 40,
        identity=None,
        path="/customers/C-1001/actions/send_now",
        customer=CUSTOMER,
        action="send_now",
        fields={"invoice_id": "FR01/INV-1"},
        command_id=UUID(int=7),
        problems=[],
        rehearsed=True,
        frame_query="invoice_id=FR01%2FINV-1&command_id=x",
        **values,
    )


def test_what_goes_out_is_listed_and_the_message_framed() -> None:
    dry = {
        "refused": None,
        "suspended": False,
        "outgoing": [{"to_confirm": False, "reminder": REMINDER}],
    }
    html = render(
        dry=dry,
        previews=[
            Preview("message/rfc822", subject="Invoice INV-1", text="Pay", html="<p>Pay</p>")
        ],
    )
    for shown in ("INV-1", "negligent · first-reminder", "reminder_friendly", "Invoice INV-1"):
        assert shown in html
    assert (
        '<iframe class="message" sandbox src="/customers/C-1001/actions/send_now/message?n=0&amp;'
        "invoice_id=FR01%2FINV-1&amp;command_id=x" in html
    )
    assert "Confirm and send" in html


def test_a_refusal_and_an_unavailable_preview_are_said_and_confirming_stays_possible() -> None:
    refused = render(dry={"refused": {"reason": "held", "detail": "a hold stands"}}, previews=[])
    assert "would refuse this command now" in refused
    assert "a hold stands" in refused
    unavailable = render(dry=None, previews=[])
    assert "The preview is unavailable" in unavailable
    assert "Confirm and send" in unavailable
    assert "Dupont &lt;b&gt;SA&lt;/b&gt;" in unavailable


async def test_an_unreachable_scheduler_leaves_the_preview_unavailable_and_the_fields_typed() -> (
    None
):
    settings = ConsoleSettings(scheduler_url="http://127.0.0.1:9", scheduler_timeout_s=1.0)
    ticks = iter([0.0, 1.0, 20.0])
    scheduler = SchedulerOperations(settings, monotonic=lambda: next(ticks))
    console = cast(Console, SimpleNamespace(scheduler=scheduler, notifier=None))
    shown = await rehearse(console, "C-1001", "send_now", {"template": "x"}, UUID(int=7))
    assert (shown["rehearsed"], shown["dry"], shown["previews"]) == (True, None, [])
    assert shown["frame_query"] == f"template=x&command_id={UUID(int=7)}"
    assert await scheduler.catalogue() is None  # a text field, asked again later
    assert scheduler._catalogue == (0.0, None)
    assert await scheduler.catalogue() is None  # kept: not asked again after 1 s
    assert scheduler._catalogue == (0.0, None)
    assert await scheduler.catalogue() is None  # asked again after 15 s
    assert scheduler._catalogue == (20.0, None)
