"""The notifier's template commands, mounted under ``relance notifier``::

    relance notifier templates check [--library scenarios/] [--languages fr,en,de,es,it]

Loads the notifier's template catalogue (``RELANCE_NOTIFIER_TEMPLATES_DIR``, every set
rendered against a sample as at start) and checks that every template the scenario library
lists or cites can be written at its step's level in every customer language; exit 1 with
each problem located, 0 when all can.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.notifier.composing.composer import SAMPLE_CREDITOR, sample_context
from services.notifier.composing.rendering import TemplateCatalogue
from services.notifier.composing.template_check import DEFAULT_LIBRARY, check_library
from services.notifier.errors import TemplateConfigurationError
from services.notifier.settings import NotifierSettings
from services.runtime.settings import load

app = typer.Typer(no_args_is_help=True, help="The notifier's templates.")
templates_app = typer.Typer(no_args_is_help=True, help="Check the reminder templates.")
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def check(
    library: Annotated[Path, typer.Option(help="the scenario library's folder")] = DEFAULT_LIBRARY,
    languages: Annotated[
        str | None, typer.Option(help="comma-separated; default: the customer languages setting")
    ] = None,
) -> None:
    """Refuse a library citing a template the notifier cannot write in a customer language."""
    wanted, problems = template_problems(library, languages)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"every template of {library} can be written in {', '.join(wanted)}")


def template_problems(
    library: Path, languages: str | None = None
) -> tuple[tuple[str, ...], list[str]]:
    """The languages checked and every template or channel of ``library`` the notifier
    cannot write in them (its configured catalogue; ``languages`` comma-separated, default
    the customer languages setting); a catalogue that does not load is one problem."""
    settings = load(NotifierSettings)
    wanted = (
        tuple(x.strip() for x in languages.split(",") if x.strip())
        if languages
        else settings.customer_languages
    )
    try:
        catalogue = TemplateCatalogue.load(settings.templates_dir, sample_context(SAMPLE_CREDITOR))
    except TemplateConfigurationError as exc:
        return wanted, [f"templates do not load: {exc}"]
    return wanted, check_library(catalogue, library, wanted)
