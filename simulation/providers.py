"""Loopback stand-ins for the providers the notifier talks to, counting what arrives.

- :class:`SmtpCollector`: an aiosmtpd server that keeps every message (Message-ID, recipients);
- :class:`TwilioStandIn`: an HTTP server answering like Twilio's Messages API, so the
  notifier's real Twilio SDK is used with ``RELANCE_NOTIFIER_TWILIO_BASE_URL``;
- :class:`LetterDrop`: the print room's folder, where the notifier drops each letter's PDF
  and its JSON manifest.

Each stand-in stamps what it receives with the simulated instant (the run's clock file, read
when the message arrives; for letters, when the controller next looks at the folder, at the
end of the phase that dropped them), so that the checks can tell whether a customer was
contacted inside their sending window, on a business day, and not while sending was
suspended.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime
from pathlib import Path
from typing import Any, get_args

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from contracts.dunning import InternalRole

INTERNAL_ROLES: tuple[str, ...] = get_args(InternalRole)

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "simulation-token"  # noqa: S105 (the loopback stand-in's, not a secret)
SMS_FROM = "+33100000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SimulatedNow = Callable[[], datetime | None]


def no_clock() -> datetime | None:
    return None


@dataclass(frozen=True)
class Email:
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    received_at: datetime | None = None  # the simulated instant it arrived

    @property
    def notice_id(self) -> str | None:
        """The notice's id for a notice (``<notice-{id}@...>``), else None."""
        if not _is_notice(self):
            return None
        return self.message_id.removeprefix("<notice-").split("@", 1)[0]

    @property
    def reminder_key(self) -> tuple[str, str] | None:
        """(reminder id, channel) for a reminder (``<reminder-{id}.{channel}@...>``)."""
        if not self.message_id.startswith("<reminder-"):
            return None
        reminder, _, channel = (
            self.message_id.removeprefix("<reminder-").split("@", 1)[0].partition(".")
        )
        return reminder, channel


_HEADERS = BytesHeaderParser(policy=policy.default)
# An interactive email's link to the customer's account on the portal (services/portal/).
_PORTAL_LINK = re.compile(r"https?://\S+/portal/\S+")
PORTAL_SAMPLES = 5  # the newest interactive emails kept whole, for the customer to click


class _Handler:
    def __init__(self, collector: SmtpCollector) -> None:
        self.collector = collector

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        # only the headers are read: parsing the MIME parts (the statement PDF) took most of
        # the demo controller's CPU
        message = _HEADERS.parsebytes(content)
        email = Email(
            # a long Message-ID is folded onto its own line: the value keeps the fold's space
            message_id=str(message.get("Message-ID", "")).strip(),
            recipients=tuple(str(r) for r in envelope.rcpt_tos),
            subject=str(message.get("Subject", "")),
            received_at=self.collector.clock(),
        )
        with self.collector.lock:
            self.collector.received.append(email)
            key = email.reminder_key
            if key is not None and key[0] in self.collector.watched:
                self.collector.kept[key[0]] = content
            if email.notice_id is not None:
                self.collector.distinct_notices.add(email.notice_id)
            if b"/portal/" in content:  # an interactive email (or, rarely, a PDF's base64)
                self.collector.interactive.append(content)
        return "250 OK queued"


@dataclass
class SmtpCollector:
    """An SMTP server on loopback (in its own thread) keeping every message received."""

    port: int = 0
    received: list[Email] = field(default_factory=list)
    interactive: deque[bytes] = field(default_factory=lambda: deque(maxlen=PORTAL_SAMPLES))
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: SimulatedNow = no_clock
    distinct_notices: set[str] = field(default_factory=set)  # kept as messages arrive
    # reminders whose whole message is kept (by reminder id), to read what the customer got
    watched: set[str] = field(default_factory=set)
    kept: dict[str, bytes] = field(default_factory=dict)
    _controller: Controller | None = None

    def start(self) -> None:
        self.port = self.port or free_port()
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count(self) -> int:
        """Reminders received (notices apart: see :meth:`notice_count`)."""
        with self.lock:
            return sum(not _is_notice(e) for e in self.received)

    def notice_count(self) -> int:
        """Notices received: owner reminders and written confirmations of promises."""
        with self.lock:
            return sum(_is_notice(e) for e in self.received)

    def notice_ids(self) -> set[str]:
        """The distinct notices received (a notice sent again after a crash counts once)."""
        with self.lock:
            return {i for e in self.received if (i := e.notice_id) is not None}

    def distinct_notice_count(self) -> int:
        """How many distinct notices arrived, without a pass over every message."""
        with self.lock:
            return len(self.distinct_notices)

    def emails(self) -> list[Email]:
        with self.lock:
            return list(self.received)

    def portal_links(self) -> list[str]:
        """The portal links of the newest interactive emails received (their text part)."""
        with self.lock:
            kept = list(self.interactive)
        links = []
        for content in kept:
            message = BytesParser(policy=policy.default).parsebytes(content)
            text = message.get_body(("plain",))
            found = _PORTAL_LINK.search(text.get_content()) if text is not None else None
            if found is not None:
                links.append(found.group(0))
        return links

    def message_ids(self) -> Counter[str]:
        """How often each reminder's Message-ID arrived (notices apart)."""
        with self.lock:
            return Counter(e.message_id for e in self.received if not _is_notice(e))


def _is_notice(email: Email) -> bool:
    # services/notifier/notices.py: notices carry <notice-{id}@...> Message-IDs
    return email.message_id.startswith("<notice-")


@dataclass
class TwilioStandIn:
    """Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json`` on loopback."""

    port: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    received_at: list[datetime | None] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    clock: SimulatedNow = no_clock
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def create_message(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(form)
        now = self.clock()
        self.received_at.append(now)
        body: dict[str, Any] = {
            "sid": f"SM{len(self.requests):032d}",
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "account_sid": request.match_info["account"],
            "date_created": format_datetime(
                (now or datetime.now(UTC)).astimezone(UTC), usegmt=True
            ),
            "date_sent": None,
        }
        self.messages.append(body)
        return web.json_response(body, status=201)

    async def list_messages(self, request: web.Request) -> web.Response:
        """Twilio's message list, newest first, filtered by ``To`` and ``From``: the notifier
        looks a message up there before sending it again."""
        query = dict(request.query)
        found = [
            m
            for m in reversed(self.messages)
            if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])
        ]
        size = int(query.get("PageSize", "50"))
        return web.json_response(
            {"messages": found[:size], "page": 0, "page_size": size, "next_page_uri": None}
        )

    async def start(self) -> None:
        self.port = self.port or free_port()
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self.create_message)
        app.router.add_get("/2010-04-01/Accounts/{account}/Messages.json", self.list_messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def count(self) -> int:
        return len(self.requests)


@dataclass
class LetterDrop:
    """The print room's folder: one ``.json`` manifest per letter, next to its PDF."""

    directory: Path
    received_at: dict[str, datetime] = field(default_factory=dict)  # manifest name: instant

    def stamp(self, instant: datetime) -> None:
        """Note the letters dropped since the last look as received at ``instant``."""
        if not self.directory.exists():
            return
        for path in self.directory.glob("reminder-*.json"):
            self.received_at.setdefault(path.name, instant)

    def stamped(self) -> list[tuple[dict[str, Any], datetime | None]]:
        """Every letter's manifest with the simulated instant it was seen in the folder."""
        if not self.directory.exists():
            return []
        return [
            (json.loads(path.read_text()), self.received_at.get(path.name))
            for path in sorted(self.directory.glob("reminder-*.json"))
        ]

    def manifests(self) -> list[dict[str, Any]]:
        if not self.directory.exists():
            return []
        found = []
        for path in sorted(self.directory.glob("reminder-*.json")):
            found.append(json.loads(path.read_text()))
        return found

    def count(self) -> int:
        if not self.directory.exists():
            return 0
        return sum(1 for _ in self.directory.glob("reminder-*.json"))

    def by_channel(self) -> Counter[str]:
        return Counter(str(m["channel"]) for m in self.manifests())


# the demo group's companies (the notifier's and the portal's format, docs/notifier.md)
COMPANIES_FILE = Path(__file__).with_name("companies.yaml")


@dataclass
class Providers:
    smtp: SmtpCollector
    sms: TwilioStandIn
    letters: LetterDrop

    def counts(self) -> dict[str, int]:
        return {
            "email": self.smtp.count(),
            "notices": self.smtp.notice_count(),
            "sms": self.sms.count(),
            "letters": self.letters.count(),
        }

    def notifier_environment(self) -> dict[str, str]:
        return {
            "RELANCE_NOTIFIER_SMTP_HOST": "127.0.0.1",
            "RELANCE_NOTIFIER_SMTP_PORT": str(self.smtp.port),
            "RELANCE_NOTIFIER_SMTP_SECURITY": "none",
            "RELANCE_NOTIFIER_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "RELANCE_NOTIFIER_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "RELANCE_NOTIFIER_SMS_FROM": SMS_FROM,
            "RELANCE_NOTIFIER_TWILIO_BASE_URL": self.sms.base_url,
            "RELANCE_NOTIFIER_LETTERS_DROP_DIR": str(self.letters.directory),
            # the demo group's companies: who each message speaks as, and its law
            "RELANCE_NOTIFIER_COMPANIES_FILE": str(COMPANIES_FILE),
            # where dispute owners are reminded, by internal role
            "RELANCE_NOTIFIER_INTERNAL_ADDRESSES": json.dumps(
                {role: f"{role.replace('_', '-')}@creditor.example" for role in INTERNAL_ROLES}
            ),
        }
