"""The scheduler loads the public-holiday calendars at start-up, not in its first tick."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from datetime import date
from services.scheduler.tick import load_calendars
loaded = lambda: {m for m in sys.modules if m.startswith("holidays.countries.")}
before = loaded()
load_calendars(date(2026, 12, 8))
print(len(before), len(loaded()), "holidays.countries.germany" in loaded())
"""


def test_loading_one_calendar_loads_every_countrys() -> None:
    # in a fresh interpreter: this one may have loaded them already
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "0"  # importing the scheduler does not load them
    assert int(out[1]) > 100  # the first calendar asked for loads the package's countries
    assert out[2] == "True"  # a customer's other country included
