"""``python -m contracts export|check``: see :mod:`contracts.export`."""

import sys

from contracts.export import main

sys.exit(main())
