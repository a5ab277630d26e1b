"""Exchange rates from a CSV file, turned into ``fx.rate.published`` events.

The file has a header and one rate per line::

    base_currency,quote_currency,valid_on,rate
    EUR,USD,2026-03-02,1.0842

``rate`` is the number of units of the quote currency for one unit of the base currency,
written as a decimal (a comma as decimal separator is refused, so is a binary float in
exponent form). Every line is checked before anything is published; each problem is
reported with its line number. The event id is derived from the pair, day and rate, so
loading the same file twice publishes the same events, which reporting applies once.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from contracts.reference import FxRate, FxRatePublished
from services.reporting.errors import ReportingError

COLUMNS = ("base_currency", "quote_currency", "valid_on", "rate")
# Namespace of the ids of rates loaded from files (uuid5 of "BASE/QUOTE/day/rate").
RATES_NAMESPACE = uuid.UUID("5d0b6f1e-2c47-4f3a-9a55-0f6a2f4e8b11")
SOURCE = "relance-report-load-rates"


class InvalidRatesFile(ReportingError):
    """A rates file that cannot be loaded; ``problems`` lists every bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the rates file: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ParsedRate:
    line: int
    rate: FxRate


def parse_rates(text: str) -> list[ParsedRate]:
    """Every rate of the file, or :class:`InvalidRatesFile` naming each bad line."""
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(name.strip() for name in (reader.fieldnames or ()))
    if header != COLUMNS:
        raise InvalidRatesFile([f"line 1: header must be {','.join(COLUMNS)}, got {header}"])
    rates: list[ParsedRate] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(value is None for value in row.values()):
            problems.append(f"line {line}: expected {len(COLUMNS)} columns")
            continue
        values = {key.strip(): value.strip() for key, value in row.items()}
        try:
            rate = FxRate.model_validate(values)
        except ValidationError as exc:
            details = ", ".join(
                ".".join(str(p) for p in error["loc"]) + ": " + error["msg"]
                if error["loc"]
                else error["msg"]
                for error in exc.errors()
            )
            problems.append(f"line {line}: {details}")
            continue
        key = (rate.base_currency, rate.quote_currency, rate.valid_on.isoformat())
        if key in seen:
            problems.append(
                f"line {line}: {rate.pair} on {rate.valid_on} already on line {seen[key]}"
            )
            continue
        seen[key] = line
        rates.append(ParsedRate(line, rate))
    if problems:
        raise InvalidRatesFile(problems)
    if not rates:
        raise InvalidRatesFile(["the file holds no rate"])
    return rates


def rate_event(rate: FxRate, now: datetime) -> FxRatePublished:
    """The event publishing ``rate``, with an id derived from its content."""
    name = f"{rate.pair}/{rate.valid_on.isoformat()}/{rate.rate.normalize()}"
    return FxRatePublished(
        event_id=uuid.uuid5(RATES_NAMESPACE, name),
        occurred_at=now,
        source=SOURCE,
        payload=rate,
    )
