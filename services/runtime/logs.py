"""Structured JSON logging that keeps personal data out of the logs.

Logs are shipped to shared systems and kept for months; customer emails, phone numbers,
names and free text are personal data and must not land there. Known personal keys are
replaced by ``"[redacted]"`` and email addresses or phone numbers found in any other
string value are masked.

Libraries that log through the standard library (aiokafka, yoyo, uvicorn) go through the
same pipeline: :func:`configure` gives the root logger a structlog ``ProcessorFormatter``,
so their records come out as the same JSON lines, redacted alike, with their ``logger``
name. uvicorn installs handlers of its own unless it is given
``log_config=UVICORN_LOG_CONFIG``, which sends its records to the root logger instead.

Those libraries repeat themselves when something is down: during a Kafka outage aiokafka
logs the same connection error several times a second, for as long as it lasts. A
:class:`RepeatLimiter` on the handler lets the first occurrence of a logger's message
through, holds back the copies for a minute, then writes one summary ("... repeated N times
in the last 60 s"); warnings and errors only. Relance's own structlog events are not
limited: they are written where something happens, not in a retry loop.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog
from structlog.typing import Processor

PERSONAL_KEYS = frozenset(
    {
        "email",
        "emails",
        "phone",
        "phones",
        "name",
        "contact",
        "contacts",
        "address",
        "recipient",
        "to",
        "cc",
        "text",
        "note",
        "body",
    }
)
REDACTED = "[redacted]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Phone numbers as Relance holds them (E.164, ``contracts.erp.PhoneNumber``) or as people
# write them: a "+" then 7 to 15 digits with optional separators ("+33 (0)6 12 34 56 78"),
# or a national number of five pairs with one separator ("06 12 34 56 78", "01.23.45.67.89").
# Digits inside a longer token are not phone numbers: identifiers (UUIDs, references),
# dates and times ("2026-03-01T10:00:00+01:00"), amounts and SMTP codes ("550 5.1.1")
# stay as they are.
_PHONE = re.compile(
    r"(?<![\w+])\+[1-9](?:[ .()-]{0,2}\d){6,14}(?!\w)"
    r"|(?<![\w.+-])0\d(?P<sep>[ .-])\d\d(?:(?P=sep)\d\d){3}(?![\w.-]?\d)"
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _PHONE.sub("[phone]", _EMAIL.sub("[email]", value))
    if isinstance(value, Mapping):
        return {k: REDACTED if k in PERSONAL_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: redact personal keys, mask emails and phones elsewhere."""
    for key, value in list(event_dict.items()):
        if key in PERSONAL_KEYS:
            event_dict[key] = REDACTED
        elif key not in ("timestamp", "level", "service", "logger"):
            event_dict[key] = _scrub(value)
    return event_dict


# Make uvicorn log through the root logger: ``uvicorn.Config(..., log_config=...)``.
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        name: {"handlers": [], "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    },
}

_SUMMARY = "relance_repeat_summary"


@dataclass
class _Seen:
    first_at: float
    message: str
    pathname: str  # where it was logged (not the record: its traceback would stay alive)
    lineno: int
    repeats: int = 0


class RepeatLimiter(logging.Filter):
    """Lets the first of identical records through, then summarises the copies.

    Only warnings and errors are limited (``min_level``): that is what a library repeats in
    a retry loop, and informational lines that merely look alike (yoyo's " - applying step
    0" of each migration) pass untouched. Records are identical when they come from the
    same logger, at the same level, with the same message once formatted. The first one
    passes; the copies within ``window_s`` seconds of it are dropped and counted. Once the
    window is over, the count is written as one record of the same logger and level,
    "<message> ... repeated N times in the last <window_s> s", either when the message
    comes again (that occurrence then passes as a new first) or, if it stopped, with the
    next record of any kind. A message that was not repeated in its window leaves no
    summary.

    At most ``max_tracked`` distinct messages are followed at once; beyond that, records
    pass unlimited rather than growing the table without bound.
    """

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 1000,
        min_level: int = logging.WARNING,
    ) -> None:
        super().__init__()
        self._emit = emit
        self.window_s = window_s
        self._clock = clock
        self._max_tracked = max_tracked
        self._min_level = min_level
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.__dict__.get(_SUMMARY):
            return True
        now = self._clock()
        passes = True
        with self._lock:
            due = self._take_expired(now)
            if record.levelno >= self._min_level:
                message = record.getMessage()
                key = (record.name, record.levelno, message)
                seen = self._seen.get(key)
                if seen is not None:
                    seen.repeats += 1
                    passes = False
                elif len(self._seen) < self._max_tracked:
                    self._seen[key] = _Seen(now, message, record.pathname, record.lineno)
        for summary in due:
            self._emit(summary)
        return passes

    def _take_expired(self, now: float) -> list[logging.LogRecord]:
        # Insertion order is the order of first occurrences: the expired ones come first.
        expired = []
        for key, seen in self._seen.items():
            if now - seen.first_at < self.window_s:
                break
            expired.append(key)
        summaries = []
        for key in expired:
            seen = self._seen.pop(key)
            if seen.repeats:
                summaries.append(self._summary(key[0], key[1], seen))
        return summaries

    def _summary(self, name: str, level: int, seen: _Seen) -> logging.LogRecord:
        summary = logging.LogRecord(
            name=name,
            level=level,
            pathname=seen.pathname,
            lineno=seen.lineno,
            msg="%s ... repeated %d times in the last %.0f s",
            args=(seen.message, seen.repeats, self.window_s),
            exc_info=None,
        )
        summary.__dict__[_SUMMARY] = True  # the filter lets its own summaries through
        return summary


_STAMPED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_RENDERED: list[Processor] = [
    structlog.processors.format_exc_info,
    redact_personal_data,
    structlog.processors.JSONRenderer(sort_keys=True),
]


def configure(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout, one per event, with the service name on each.

    structlog's loggers and the standard library's (aiokafka, yoyo, uvicorn, ...) share
    the processors: context, level, timestamp, exception, redaction, JSON. The standard
    library's records go through a :class:`RepeatLimiter` first.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RepeatLimiter(emit=handler.handle))
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_STAMPED, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_RENDERED],
        )
    )
    logging.basicConfig(handlers=[handler], level=level, force=True)
    structlog.configure(
        processors=[*_STAMPED, *_RENDERED],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.get_logger(component=name)
