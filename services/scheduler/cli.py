"""The scheduler's commands: validate a scenario library, suspend or resume all sending.

Mounted under ``relance scheduler``::

    relance scheduler validate [FOLDER]   check a library; every problem located, exit 1 if any
    relance scheduler suspend             stop every reminder until resumed
    relance scheduler resume              lift the suspension
    relance scheduler campaign FILE       send one step now to the customers FILE selects
                                          (--dry-run: only show who would be reached)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from services.runtime.clock import SystemClock, clock_from_setting
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings, load
from services.scheduler import queries
from services.scheduler.app import policy_of
from services.scheduler.campaigns import CampaignReport, load_campaign, run_campaign
from services.scheduler.domain.library import load_library
from services.scheduler.errors import CampaignRefused, InvalidScenarios
from services.scheduler.settings import SchedulerSettings

app = typer.Typer(no_args_is_help=True, help="Dunning scenarios and sending.")


@app.command("validate")
def validate(
    folder: Annotated[
        Path | None,
        typer.Argument(help="The library folder (default: RELANCE_SCHEDULER_SCENARIOS_PATH)."),
    ] = None,
) -> None:
    """Check every scenario, template and assignment rule of a library."""
    if folder is None:
        folder = load(SchedulerSettings).scenarios_path
    try:
        library = load_library(folder)
    except InvalidScenarios as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); the library is not valid.", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{len(library.scenarios)} scenarios valid: {', '.join(sorted(library.scenarios))}")


async def set_suspended(database_url: str, suspended: bool) -> None:
    connection = await asyncpg.connect(database_url, server_settings={"search_path": "scheduler"})
    try:
        await connection.execute(queries.SET_SUSPENDED, suspended, SystemClock().now())
    finally:
        await connection.close()


@app.command("suspend")
def suspend() -> None:
    """Stop all sending at once; reminders stay due and go out after ``resume``."""
    asyncio.run(set_suspended(DatabaseSettings().url.get_secret_value(), True))
    typer.echo("scheduler suspended: no reminder goes out until `resume`.")


@app.command("resume")
def resume() -> None:
    """Lift a global suspension."""
    asyncio.run(set_suspended(DatabaseSettings().url.get_secret_value(), False))
    typer.echo("scheduler resumed.")


async def _run_campaign(path: Path, dry_run: bool) -> CampaignReport:
    settings = load(SchedulerSettings)
    policy = policy_of(settings)
    campaign = load_campaign(path, policy.library.templates)
    pool = await create_pool(settings.database, "scheduler", max_size=2)
    try:
        return await run_campaign(
            pool, clock_from_setting(settings.clock), policy, campaign, dry_run=dry_run
        )
    finally:
        await pool.close()


@app.command("campaign")
def campaign(
    file: Annotated[Path, typer.Argument(help="The campaign's YAML file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would be reached; send nothing.")
    ] = False,
) -> None:
    """Send one step now to the customers a campaign selects, beside their scenarios."""
    try:
        report = asyncio.run(_run_campaign(file, dry_run))
    except InvalidScenarios as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc
    except CampaignRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    invoices = sum(n for _, n in report.reached)
    verb = "would reach" if dry_run else "reached"
    typer.echo(
        f"campaign {report.campaign_id}: {verb} {len(report.reached)} customer(s), "
        f"{invoices} invoice(s)"
    )
    for reason, count in report.skipped_by_reason().items():
        typer.echo(f"  skipped {count}: {reason}")
