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
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
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
    the processors: context, level, timestamp, exception, redaction, JSON.
    """
    handler = logging.StreamHandler(sys.stdout)
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
