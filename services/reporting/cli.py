"""The reporting commands, mounted under ``relance report``::

    relance report html --out FILE [--as-of DAY]     the HTML report with its charts
    relance report charts --out FOLDER [--as-of DAY] the same charts as PNG files
    relance report load-rates FILE                   publish exchange rates from a CSV file

``html`` and ``charts`` only read the ``reporting`` schema (``DATABASE_URL``); without
``--as-of`` the day is today on the reporting service's clock (``RELANCE_REPORTING_CLOCK``,
UTC). ``load-rates`` publishes ``fx.rate.published`` events on ``reference.fx-rates.v1``
(``KAFKA_*`` settings), so that rates loaded from a file survive a rebuild like any other.
Exit codes: 0 done, 1 bad input (nothing written or published), 2 configuration or
connection error.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts.topics import FX_RATES, Topic
from services.reporting.domain.rates_file import InvalidRatesFile, parse_rates, rate_event
from services.reporting.report_data import ReportData, gather
from services.reporting.settings import ReportingSettings
from services.runtime.clock import clock_from_setting
from services.runtime.errors import RelanceError
from services.runtime.settings import load

app = typer.Typer(no_args_is_help=True, help="Reports read from the reporting schema.")

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Day of the report (YYYY-MM-DD); default: today on the service's clock (UTC).",
    ),
]
TrendDays = Annotated[int, typer.Option(min=1, max=3660, help="Days of the aged balance trend.")]
DsoMonths = Annotated[int, typer.Option(min=1, max=120, help="Months of DSO shown.")]
Top = Annotated[int, typer.Option(min=1, max=1000, help="Customers of the worklist shown.")]
FillTrend = Annotated[
    bool,
    typer.Option(help="Recompute the trend's days without a snapshot from the history."),
]


def _settings() -> ReportingSettings:
    try:
        return load(ReportingSettings)
    except RelanceError as exc:
        typer.echo(f"relance report: {exc}", err=True)
        raise typer.Exit(2) from exc


def _day(as_of: str | None, settings: ReportingSettings) -> date:
    if as_of is None:
        try:
            return clock_from_setting(settings.clock).now().astimezone(UTC).date()
        except RelanceError as exc:
            typer.echo(f"relance report: {exc}", err=True)
            raise typer.Exit(2) from exc
    try:
        return date.fromisoformat(as_of)
    except ValueError as exc:
        raise typer.BadParameter(
            f"not a day (YYYY-MM-DD): {as_of!r}", param_hint="--as-of"
        ) from exc


async def read_report(
    database_url: str, as_of: date, trend_days: int, fill_trend: bool, dso_months: int, top: int
) -> ReportData:
    """Every figure of the report, read in one repeatable-read transaction."""
    connection = await asyncpg.connect(
        database_url,
        server_settings={
            "search_path": "reporting",
            "application_name": "report",
            # many small queries: compiling each costs more than it saves
            "jit": "off",
        },
    )
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return await gather(
                connection,
                as_of,
                trend_days=trend_days,
                fill_trend=fill_trend,
                dso_months=dso_months,
                top=top,
            )
    finally:
        await connection.close()


def _read(
    as_of: str | None, trend_days: int, fill_trend: bool, dso_months: int, top: int
) -> ReportData:
    settings = _settings()
    day = _day(as_of, settings)
    try:
        return asyncio.run(
            read_report(
                settings.database.url.get_secret_value(),
                day,
                trend_days,
                fill_trend,
                dso_months,
                top,
            )
        )
    except (OSError, asyncpg.PostgresError) as exc:
        typer.echo(f"relance report: cannot read the reporting schema: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("html")
def html(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    as_of: AsOf = None,
    trend_days: TrendDays = 30,
    fill_trend: FillTrend = True,
    dso_months: DsoMonths = 12,
    top: Top = 20,
) -> None:
    """Write the self-contained HTML report (inline SVG charts) as of a day."""
    from services.reporting.html_report import render  # matplotlib: only when drawing

    data = _read(as_of, trend_days, fill_trend, dso_months, top)
    document = render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(document, encoding="utf-8")
    partial.replace(out)  # readers never see half a report
    typer.echo(f"report as of {data.as_of.isoformat()} written to {out} ({len(document)} bytes)")


@app.command("charts")
def charts(
    out: Annotated[Path, typer.Option("--out", help="The folder to write PNG files into.")],
    as_of: AsOf = None,
    trend_days: TrendDays = 30,
    fill_trend: FillTrend = True,
    dso_months: DsoMonths = 12,
) -> None:
    """Write the report's charts as PNG files."""
    from services.reporting.html_report import write_charts  # matplotlib: only when drawing

    data = _read(as_of, trend_days, fill_trend, dso_months, 20)
    written = write_charts(data, out)
    typer.echo(f"{len(written)} chart(s) as of {data.as_of.isoformat()} written to {out}")


async def publish_rates(
    kafka_options: dict[str, object], text: str, settings_clock: str, topic: Topic = FX_RATES
) -> int:
    """Publish every rate of a rates file; nothing when one line is bad."""
    rates = parse_rates(text)
    now = clock_from_setting(settings_clock).now()
    producer = AIOKafkaProducer(**kafka_options, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for parsed in rates:
            event = rate_event(parsed.rate, now)
            await producer.send(topic.name, topic.value(event), key=topic.key(event))
        await producer.flush()
    finally:
        await producer.stop()
    return len(rates)


@app.command("load-rates")
def load_rates(
    file: Annotated[Path, typer.Argument(help="CSV: base_currency,quote_currency,valid_on,rate")],
) -> None:
    """Publish exchange rates from a CSV file to reference.fx-rates.v1."""
    settings = _settings()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"relance report: cannot read {file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        count = asyncio.run(publish_rates(settings.kafka.client_options(), text, settings.clock))
    except InvalidRatesFile as exc:
        for problem in exc.problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo("nothing published.", err=True)
        raise typer.Exit(1) from exc
    except (KafkaError, RelanceError, OSError) as exc:
        typer.echo(f"relance report: cannot publish the rates: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{count} rate(s) published to {FX_RATES.name}")
