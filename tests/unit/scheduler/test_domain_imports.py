"""The scheduler's domain stays pure: importing it loads no driver, broker client or web framework.

Each module of ``services.scheduler.domain`` is imported alone in a fresh interpreter, so
that what other tests or modules have already loaded cannot hide an import path that
reaches a driver (``campaign`` once reached asyncpg through the stored state's module).
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import services.scheduler.domain

FORBIDDEN = ("asyncpg", "aiokafka", "faststream", "aiohttp", "fastapi")
MODULES = sorted(
    f"services.scheduler.domain.{m.name}"
    for m in pkgutil.iter_modules(services.scheduler.domain.__path__)
)
ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = {name.partition(".")[0] for name in sys.modules}
print(json.dumps(sorted(loaded & set(sys.argv[2:]))))
"""


def test_every_domain_module_is_probed() -> None:
    assert {"services.scheduler.domain.campaign", "services.scheduler.domain.state"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_domain_module_imports_no_driver(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, module, *FORBIDDEN],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert json.loads(probe.stdout) == [], f"{module} loads {probe.stdout.strip()}"
