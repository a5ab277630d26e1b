"""The scheduler's commands: validate a scenario library, suspend or resume all sending.

Mounted under ``relance scheduler``::

    relance scheduler validate [FOLDER]   check a library; every problem located, exit 1 if any
    relance scheduler suspend --reason TEXT [--company CODE] [--by NAME]
                                          stop sending to the customers of one company (or
                                          of all) until resumed; recorded and announced
    relance scheduler resume [--company CODE] [--by NAME]
                                          lift that suspension
    relance scheduler campaign FILE       send one step now to the customers FILE selects
                                          (--dry-run: only show who would be reached)
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from services.runtime.clock import Clock, SystemClock, clock_from_setting
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings, load
from services.scheduler import suspensions
from services.scheduler.app import policy_of
from services.scheduler.campaigns import CampaignReport, load_campaign, run_campaign
from services.scheduler.domain.library import load_library
from services.scheduler.errors import CampaignRefused, InvalidScenarios, SuspensionRefused
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


async def set_suspended(
    database_url: str,
    suspended: bool,
    *,
    company_code: str | None = None,
    by: str,
    reason: str | None = None,
    clock: Clock | None = None,
) -> None:
    """Suspend (with ``reason``) or resume sending for one company or all, recorded and
    announced in one transaction."""
    now = (clock or SystemClock()).now()
    connection = await asyncpg.connect(database_url, server_settings={"search_path": "scheduler"})
    try:
        async with connection.transaction():
            if suspended:
                assert reason is not None
                await suspensions.suspend(
                    connection, company_code=company_code, by=by, reason=reason, now=now
                )
            else:
                await suspensions.resume(connection, company_code=company_code, by=by, now=now)
    finally:
        await connection.close()


CompanyOption = Annotated[
    str | None,
    typer.Option("--company", help="The company's code; without it, every company."),
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who does it (default: the operator's login name)."),
]


def _scope(company: str | None) -> str:
    return "every company" if company is None else f"company {company}"


@app.command("suspend")
def suspend(
    reason: Annotated[str, typer.Option("--reason", help="Why sending stops (recorded).")],
    company: CompanyOption = None,
    by: ByOption = None,
) -> None:
    """Stop sending to one company's customers (or everyone's); reminders wait for resume."""
    try:
        asyncio.run(
            set_suspended(
                DatabaseSettings().url.get_secret_value(),
                True,
                company_code=company,
                by=by or getpass.getuser(),
                reason=reason,
            )
        )
    except SuspensionRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sending suspended for {_scope(company)}: nothing goes out until `resume`.")


@app.command("resume")
def resume(company: CompanyOption = None, by: ByOption = None) -> None:
    """Lift the suspension of one company (or of every company)."""
    try:
        asyncio.run(
            set_suspended(
                DatabaseSettings().url.get_secret_value(),
                False,
                company_code=company,
                by=by or getpass.getuser(),
            )
        )
    except SuspensionRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sending resumed for {_scope(company)}.")


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
