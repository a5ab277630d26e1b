"""One adapter per channel behind one interface: prepare the exact content, then send it.

``prepare`` runs inside the dispatcher's claim transaction and does no I/O: it renders what
will be sent, so that its exact bytes are archived before the provider sees them. ``send``
runs with no transaction open and talks to the provider; it raises
:class:`~services.notifier.errors.DeliveryError` telling whether a retry may succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.composing.composer import CustomerView


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: its exact bytes (the proof) and what the adapter needs.

    ``attempt`` is the delivery's attempt this send is: 1 the first; above 1 a retry or a
    re-claim after a crash, when the provider may already hold the message.
    """

    content: bytes
    recipients: tuple[str, ...]
    tracking_id: str | None
    message: Any
    attempt: int = 1


@dataclass(frozen=True)
class Receipt:
    tracking_id: str | None
    reply: str


class ChannelAdapter(Protocol):
    provider: str

    def prepare(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
    ) -> Outgoing: ...

    async def send(self, outgoing: Outgoing) -> Receipt: ...
