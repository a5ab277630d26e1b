"""``python -m services.console``: run the console as ``relance run <service>`` runs the
others (settings from the environment, SIGTERM drains)."""

from __future__ import annotations

import asyncio
import sys

from services.console.app import DEFINITION
from services.console.settings import ConsoleSettings
from services.runtime.errors import RelanceError
from services.runtime.service import run
from services.runtime.settings import load


def main() -> int:
    try:
        return asyncio.run(run(DEFINITION, load(ConsoleSettings)))
    except RelanceError as exc:
        print(f"relance console: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
