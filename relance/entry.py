"""The ``relance`` script's entry point: ``relance run SERVICE`` imports only that service.

Every other command goes through the whole command line (:mod:`relance.cli`), which mounts
every service's subcommands and so imports them all: about a second of CPU more than a
service needs to start (0.2 s more for the notifier, whose own modules are most of them, up
to 1.3 s for ingestion and reporting). Each service process paid it at its start, and so
did each of the notifier's composing processes, which are spawned and import the script's
module again. ``relance run`` is the same command either way: the same service, settings,
messages and exit status.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.runtime.service import ServiceDefinition

SERVICES = ("ingestion", "scheduler", "notifier", "disputes", "reporting", "portal", "console")


def service_definition(service: str) -> ServiceDefinition:
    """The :class:`ServiceDefinition` of ``service`` (one of :data:`SERVICES`)."""
    import importlib

    module = importlib.import_module(f"services.{service}.app")
    found: ServiceDefinition = module.DEFINITION
    return found


def serve(found: ServiceDefinition) -> int:
    """Run the service until SIGTERM or SIGINT; its exit status (2: it could not start)."""
    import asyncio

    from services.runtime.errors import RelanceError
    from services.runtime.service import run
    from services.runtime.settings import load

    try:
        settings = load(found.settings_class)
        return asyncio.run(run(found, settings))
    except RelanceError as exc:
        print(f"relance {found.name}: {exc}", file=sys.stderr)
        return 2


def main() -> None:
    arguments = sys.argv[1:]
    if len(arguments) == 2 and arguments[0] == "run" and arguments[1] in SERVICES:
        raise SystemExit(serve(service_definition(arguments[1])))
    from relance.cli import main as whole_command_line

    whole_command_line()
