"""The scheduler's commands: validate a scenario library, suspend or resume all sending.

Mounted under ``relance scheduler``::

    relance scheduler validate [FOLDER]   check a library; every problem located, exit 1 if any
    relance scheduler suspend             stop every reminder until resumed
    relance scheduler resume              lift the suspension
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from services.runtime.clock import SystemClock
from services.runtime.settings import DatabaseSettings
from services.scheduler import queries
from services.scheduler.domain.library import DEFAULT_LIBRARY, load_library
from services.scheduler.errors import InvalidScenarios

app = typer.Typer(no_args_is_help=True, help="Dunning scenarios and sending.")


@app.command("validate")
def validate(
    folder: Annotated[Path, typer.Argument(help="The scenario library folder.")] = DEFAULT_LIBRARY,
) -> None:
    """Check every scenario, template and assignment rule of a library."""
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
