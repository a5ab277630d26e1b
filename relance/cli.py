"""The ``relance`` command line, assembled from the services' own subcommands.

::

    relance services                 list the services
    relance run SERVICE              run one service until SIGTERM
    relance migrate SERVICE|all      apply pending schema migrations
    relance topics create            create the topics and dead-letter topics
    relance contracts export|check   regenerate / verify JSON Schemas and AsyncAPI
    relance scheduler validate|suspend|resume   scenario library; suspensions (a company or all)
    relance library validate [FOLDER]            the scheduler's checks and the notifier's
    relance library reload [FOLDER] --by NAME [--dry-run]   both checks, then the reload
    relance report html|charts|load-rates       HTML report and charts, exchange rates
    relance call-tasks ...           the notifier's phone-call tasks
    relance notifier templates check every template a scenario cites, in every language
    relance dlq list|show|replay     dead letters by topic and reason; replay after a fix
    relance unmatched list|release|dead-letter   money parked until its invoices arrive
    relance reference-rates load-interest-rates FILE   ECB, Bundesbank, BoE rates as events
    relance demo [--small] [--keep]  120 simulated days of a synthetic ERP history

Each service keeps its own subcommands in ``services/<name>/cli.py``; this module only
mounts them, and finds each service's :class:`ServiceDefinition` in ``services.<name>.app``.
The ``relance`` script enters through :mod:`relance.entry`, which starts ``relance run
SERVICE`` without importing this module (and so every service's subcommands).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from relance.entry import SERVICES as SERVICES
from relance.entry import serve, service_definition
from services.ingestion.unmatched import app as unmatched_app
from services.notifier.cli import app as call_tasks_app
from services.notifier.templates_cli import app as notifier_app
from services.notifier.templates_cli import template_problems
from services.reporting.cli import app as report_app
from services.runtime import migrations
from services.runtime.dlq_admin import app as dlq_app
from services.runtime.reference_rates import app as reference_rates_app
from services.runtime.service import ServiceDefinition
from services.runtime.settings import KafkaSettings, ServiceSettings, load
from services.scheduler.cli import app as scheduler_app
from services.scheduler.cli import library_reload as scheduler_library_reload
from services.scheduler.domain.library import load_library
from services.scheduler.errors import InvalidScenarios
from services.scheduler.settings import SchedulerSettings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Relance: dunning on Kafka.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
app.add_typer(topics_app, name="topics")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(report_app, name="report")
app.add_typer(call_tasks_app, name="call-tasks")
app.add_typer(notifier_app, name="notifier")
app.add_typer(dlq_app, name="dlq")
app.add_typer(unmatched_app, name="unmatched")
app.add_typer(reference_rates_app, name="reference-rates")
library_app = typer.Typer(
    no_args_is_help=True,
    help="The scenario library, checked by the scheduler and the notifier together.",
)
app.add_typer(library_app, name="library")


def definition(service: str) -> ServiceDefinition:
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return service_definition(service)


@app.command("services")
def list_services() -> None:
    """List the services, their schemas and the topics they consume."""
    for name in SERVICES:
        found = definition(name)
        consumed = ", ".join(t.name for t in found.consumes) or "-"
        typer.echo(f"{name:<10} schema={found.schema:<10} consumes: {consumed}")


@app.command("run")
def run_service(service: Annotated[str, typer.Argument(help="ingestion, scheduler, ...")]) -> None:
    """Run one service until SIGTERM or SIGINT."""
    raise typer.Exit(serve(definition(service)))


@app.command("migrate")
def migrate(service: Annotated[str, typer.Argument(help="a service, or 'all'")]) -> None:
    """Apply pending schema migrations."""
    names = SERVICES if service == "all" else (service,)
    for name in names:
        found = definition(name)
        settings: ServiceSettings = load(found.settings_class)
        applied = migrations.apply(
            settings.database.url.get_secret_value(), found.schema, found.migrations
        )
        typer.echo(f"{name}: schema {found.schema}: applied {len(applied)} migration(s)")


@topics_app.command("create")
def create_topics(
    replication_factor: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Create the topics of contracts.topics and their dead-letter topics if missing."""
    from services.runtime.topic_admin import create_topics as create

    kafka = load(KafkaSettings)
    created = asyncio.run(create(kafka.client_options(), replication_factor=replication_factor))
    typer.echo(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))


@app.command("contracts")
def contracts(action: Annotated[str, typer.Argument(help="export or check")]) -> None:
    """Regenerate (export) or verify (check) the JSON Schemas and the AsyncAPI document."""
    import contracts.export as export

    raise typer.Exit(export.main([action]))


@app.command("demo")
def demo(
    small: Annotated[bool, typer.Option(help="The system test's size: 120 customers.")] = False,
    days: Annotated[int | None, typer.Option(min=1, help="Simulated days.")] = None,
    customers: Annotated[int | None, typer.Option(min=1)] = None,
    invoices: Annotated[int | None, typer.Option(min=1)] = None,
    seed: Annotated[int, typer.Option(help="The generator's seed.")] = 42,
    keep: Annotated[bool, typer.Option(help="Leave the services running at the end.")] = False,
    database: Annotated[str, typer.Option(help="The demo's own database.")] = "relance_demo",
) -> None:
    """Run the five services on simulated time over a synthetic ERP history (docs/demo.md).

    Recreates Relance's topics on the broker of KAFKA_BOOTSTRAP_SERVERS and the database
    DATABASE on the server of DATABASE_URL: use a broker of its own (scripts/demo does).
    """
    from simulation.demo import main as run_demo

    raise typer.Exit(
        run_demo(
            small=small,
            days=days,
            customers=customers,
            invoices=invoices,
            seed=seed,
            keep=keep,
            database_name=database,
        )
    )


FolderArgument = Annotated[
    Path | None,
    typer.Argument(help="The library folder (default: RELANCE_SCHEDULER_SCENARIOS_PATH)."),
]
LanguagesOption = Annotated[
    str | None,
    typer.Option(help="comma-separated; default: the notifier's customer languages setting"),
]


def library_problems(folder: Path, languages: str | None = None) -> list[str]:
    """Every problem of the library at ``folder``: the scheduler's (scenarios, steps,
    templates listed, assignment) and the notifier's (each cited template at its step's
    level and each step's channel, in every customer language); empty when it is valid."""
    problems: list[str] = []
    try:
        load_library(folder)
    except InvalidScenarios as exc:
        problems.extend(str(p) for p in exc.problems)
    problems.extend(template_problems(folder, languages)[1])
    return problems


def _refuse_if_invalid(folder: Path, languages: str | None, refused: str) -> None:
    problems = library_problems(folder, languages)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s); {refused}", err=True)
        raise typer.Exit(1)


@library_app.command("validate")
def library_validate(folder: FolderArgument = None, languages: LanguagesOption = None) -> None:
    """Check a library as the scheduler and the notifier would: exit 1 naming each problem."""
    if folder is None:
        folder = load(SchedulerSettings).scenarios_path
    _refuse_if_invalid(folder, languages, "the library is not valid.")
    typer.echo(f"library {folder} is valid: the scheduler can run it and the notifier write it")


@library_app.command("reload")
def library_reload(
    folder: FolderArgument = None,
    by: Annotated[str, typer.Option("--by", help="Who changes the library (recorded).")] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the invoices it would move and how; change nothing."),
    ] = False,
    languages: LanguagesOption = None,
) -> None:
    """Check a library with the notifier too, then reload it (``relance scheduler library
    reload``); a library the notifier cannot write is refused before the scheduler sees it."""
    if folder is None:
        folder = load(SchedulerSettings).scenarios_path
    _refuse_if_invalid(folder, languages, "the library is refused, the running version stays.")
    scheduler_library_reload(folder, by=by, dry_run=dry_run)


def main() -> None:
    app()
