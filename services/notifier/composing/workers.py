"""Composing emails in worker processes, so that the dispatcher composes on every core.

Composing an email with its PDF statement is pure CPU (rendering the templates, drawing the
PDF with fpdf2, building and serialising the MIME message): three quarters of the time of a
send when the dispatcher did it on its own event loop, one core at most. Here it runs in a
:class:`~concurrent.futures.ProcessPoolExecutor` of ``composing_workers`` processes
(``RELANCE_NOTIFIER_COMPOSING_WORKERS``; default the machine's cores, 0 to compose in the
dispatcher's process as before), each holding its own :class:`EmailComposer`, loaded and
checked once when it starts, like the service's.

What goes to a worker is values only: the reminder, the invoices, the customer's view, the
instant, the portal link (minted in the service: the signing key stays there) and the
reference rates in force (the service refreshes them; a worker has no database). What comes
back is the message's exact bytes, its recipients and Message-ID, or the reason it cannot be
composed; the checks that count or log in the service (an unknown company) are made in the
service first, so that its metrics and logs see them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

from contracts.dunning import DunnedInvoice, Reminder
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.errors import DeliveryError
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import ReferenceRates
from services.runtime.logs import configure


@dataclass(frozen=True)
class ComposedBytes:
    """A composed email as it will be sent: its bytes, recipients (to and cc) and Message-ID."""

    content: bytes
    recipients: tuple[str, ...]
    message_id: str


@dataclass(frozen=True)
class NotComposed:
    """Why a worker could not compose: the :class:`DeliveryError`'s reason and kind."""

    reason: str
    retryable: bool


_composer: EmailComposer | None = None  # the worker process's own


def _start(settings: NotifierSettings) -> None:
    global _composer
    if settings.composing_nice:
        # composing is batch work: the service's own process (the duplicate window), the
        # database and the SMTP server take a core first when they are ready to run
        os.nice(settings.composing_nice)
    configure("notifier", settings.log_level)
    _composer = EmailComposer.load(settings, RateBook())


def _compose(
    reminder: Reminder,
    invoices: tuple[DunnedInvoice, ...],
    customer: CustomerView,
    now: datetime,
    portal: tuple[str, date] | None,
    rates: ReferenceRates,
) -> ComposedBytes | NotComposed:
    assert _composer is not None, "the worker was not started"
    _composer.rate_book.rates = rates
    try:
        composed = _composer.compose(reminder, invoices, customer, now, portal=portal)
    except DeliveryError as exc:
        return NotComposed(exc.reason, exc.retryable)
    recipients = (*composed.recipients.to, *composed.recipients.cc)
    return ComposedBytes(composed.content, recipients, composed.message_id)


def _ready() -> None:
    time.sleep(0.2)  # long enough for the pool to start a process per call


def default_workers() -> int:
    return os.cpu_count() or 1


class ComposingWorkers:
    """A pool of composing processes; :meth:`compose` awaits one email's bytes."""

    def __init__(self, settings: NotifierSettings, rate_book: RateBook, workers: int) -> None:
        if workers < 1:
            raise ValueError("at least one composing worker")
        self.rate_book = rate_book
        self.workers = workers
        # spawned, not forked: the service has threads and open sockets
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(settings,),
        )

    async def compose(
        self,
        reminder: Reminder,
        invoices: tuple[DunnedInvoice, ...],
        customer: CustomerView,
        now: datetime,
        portal: tuple[str, date] | None,
    ) -> ComposedBytes:
        """The email's bytes; raise :class:`DeliveryError` if it cannot be composed."""
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(
            self._executor,
            _compose,
            reminder,
            invoices,
            customer,
            now,
            portal,
            self.rate_book.rates,
        )
        if isinstance(done, NotComposed):
            raise DeliveryError(done.reason, retryable=done.retryable)
        return done

    async def warm_up(self) -> None:
        """Start every worker now (each loads and checks the templates), not at the first
        emails."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
        )

    def pids(self) -> list[int]:
        """The workers' process ids (for benchmarks counting their CPU)."""
        return list(self._executor._processes)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
