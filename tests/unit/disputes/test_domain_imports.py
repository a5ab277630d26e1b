"""The domain modules of disputes and reporting are pure: importing one, in a fresh
interpreter, loads no database or Kafka driver and no HTTP framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOMAINS = ("services/disputes/domain", "services/reporting/domain")
FORBIDDEN = ("asyncpg", "aiokafka", "faststream", "aiohttp", "fastapi")


def domain_modules() -> list[str]:
    modules = []
    for domain in DOMAINS:
        for path in sorted((ROOT / domain).glob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_every_domain_is_found() -> None:
    modules = domain_modules()
    assert "services.disputes.domain.disputes" in modules
    assert "services.reporting.domain.aging" in modules


@pytest.mark.parametrize("module", domain_modules())
def test_domain_module_imports_no_driver_nor_framework(module: str) -> None:
    script = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], f"{module} imports {done.stdout.strip()}"
