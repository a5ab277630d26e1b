"""``python -m services.portal``: run the portal until SIGTERM or SIGINT.

(``relance run portal`` once the portal is listed among the command line's services, with
its Kubernetes Deployment; see docs/portal.md.)
"""

from __future__ import annotations

import asyncio
import sys

from services.portal.app import DEFINITION
from services.portal.settings import PortalSettings
from services.runtime.errors import RelanceError
from services.runtime.service import run
from services.runtime.settings import load


def main() -> int:
    try:
        return asyncio.run(run(DEFINITION, load(PortalSettings)))
    except RelanceError as exc:
        print(f"relance portal: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
