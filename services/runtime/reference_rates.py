"""Reference interest rates from a file, published as ``reference.interest_rate.published``.

The rates of late-payment law change twice a year at most; they are events on
``reference.interest-rates.v1`` (never a setting), loaded by an operator from the history
kept in ``reference/interest-rates.csv``::

    python -m services.runtime.reference_rates reference/interest-rates.csv

The file has a header and one rate per line; lines starting with ``#`` are comments::

    kind,valid_from,rate,checked
    ecb_mro,2024-06-12,4.25,stored

``checked`` says how the figure was verified (``stored``, ``stored-rate``, ``derived``,
``memory``, see the file's header); it is not published. Every line is checked before
anything is published, and each problem is reported with its line number. An event's id is
derived from its kind, day and rate, so loading the file twice publishes the same events and
a consumer's inbox applies them once. Exit codes: 0 published, 1 bad file, 2 configuration
or connection error.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contracts.reference import ReferenceInterestRate, ReferenceInterestRatePublished
from contracts.topics import INTEREST_RATES, Topic
from services.runtime.errors import LatePaymentError, RelanceError
from services.runtime.late_payment import ReferenceRate
from services.runtime.settings import KafkaSettings, load

COLUMNS = ("kind", "valid_from", "rate", "checked")
CHECKED = frozenset({"stored", "stored-rate", "derived", "memory"})
# Namespace of the ids of rates loaded from files (uuid5 of "kind/day/rate").
RATES_NAMESPACE = uuid.UUID("0c6f3f2e-8d3b-4a8e-9f61-5b7d2a1c4e90")
SOURCE = "relance-reference-rates"


class InvalidInterestRatesFile(LatePaymentError):
    """A reference interest rates file that cannot be loaded; ``problems`` lists each line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the rates file: " + "; ".join(problems))
        self.problems = problems


def parse_interest_rates(text: str) -> list[ReferenceInterestRate]:
    """Every rate of the file, or :class:`InvalidInterestRatesFile` naming each bad line."""
    numbered = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise InvalidInterestRatesFile(["the file holds no header and no rate"])
    header_line, header = numbered[0]
    names = tuple(name.strip() for name in next(csv.reader([header])))
    if names != COLUMNS:
        raise InvalidInterestRatesFile(
            [f"line {header_line}: header must be {','.join(COLUMNS)}, got {','.join(names)}"]
        )
    rates: list[ReferenceInterestRate] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for number, line in numbered[1:]:
        values = [value.strip() for value in next(csv.reader(io.StringIO(line)))]
        if len(values) != len(COLUMNS):
            problems.append(f"line {number}: expected {len(COLUMNS)} columns")
            continue
        row = dict(zip(COLUMNS, values, strict=True))
        if row["checked"] not in CHECKED:
            problems.append(f"line {number}: checked must be one of {', '.join(sorted(CHECKED))}")
            continue
        try:
            rate = ReferenceInterestRate.model_validate(
                {"kind": row["kind"], "valid_from": row["valid_from"], "rate": row["rate"]}
            )
        except ValidationError as exc:
            details = ", ".join(
                ".".join(str(p) for p in error["loc"]) + ": " + error["msg"]
                for error in exc.errors()
            )
            problems.append(f"line {number}: {details}")
            continue
        key = (rate.kind, rate.valid_from.isoformat())
        if key in seen:
            problems.append(
                f"line {number}: {rate.kind} from {rate.valid_from} already on line {seen[key]}"
            )
            continue
        seen[key] = number
        rates.append(rate)
    if problems:
        raise InvalidInterestRatesFile(problems)
    if not rates:
        raise InvalidInterestRatesFile(["the file holds no rate"])
    return rates


def interest_rate_event(
    rate: ReferenceInterestRate, now: datetime
) -> ReferenceInterestRatePublished:
    """The event publishing ``rate``, with an id derived from its content."""
    name = f"{rate.kind}/{rate.valid_from.isoformat()}/{rate.rate.normalize()}"
    return ReferenceInterestRatePublished(
        event_id=uuid.uuid5(RATES_NAMESPACE, name), occurred_at=now, source=SOURCE, payload=rate
    )


def as_reference_rates(rates: Iterable[ReferenceInterestRate]) -> list[ReferenceRate]:
    """The kit's values for :class:`services.runtime.late_payment.ReferenceRates`."""
    return [ReferenceRate(rate.kind, rate.valid_from, rate.rate) for rate in rates]


async def publish_interest_rates(
    kafka_options: dict[str, object], text: str, now: datetime, topic: Topic = INTEREST_RATES
) -> int:
    """Publish every rate of a rates file; nothing when one line is bad."""
    rates = parse_interest_rates(text)
    producer = AIOKafkaProducer(**kafka_options, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for rate in rates:
            event = interest_rate_event(rate, now)
            await producer.send(topic.name, topic.value(event), key=topic.key(event))
        await producer.flush()
    finally:
        await producer.stop()
    return len(rates)


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


@app.command()
def load_interest_rates(
    file: Annotated[Path, typer.Argument(help="CSV: kind,valid_from,rate,checked")],
) -> None:
    """Publish reference interest rates from a file to reference.interest-rates.v1."""
    try:
        kafka = load(KafkaSettings)
        text = file.read_text(encoding="utf-8")
    except RelanceError as exc:
        typer.echo(f"reference rates: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"reference rates: cannot read {file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        # The load time only stamps the events; the rates carry their own days.
        now = datetime.now(UTC)
        count = asyncio.run(publish_interest_rates(kafka.client_options(), text, now))
    except InvalidInterestRatesFile as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo("nothing published.", err=True)
        raise typer.Exit(1) from exc
    except (KafkaError, RelanceError, OSError) as exc:
        typer.echo(f"reference rates: cannot publish the rates: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{count} rate(s) published to {INTEREST_RATES.name}")


if __name__ == "__main__":
    app()
