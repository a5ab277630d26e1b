from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

COMPANIES_FILE = Path(__file__).parent / "companies.yaml"


@pytest.fixture(scope="session", autouse=True)
def companies_file() -> Iterator[Path]:
    """The creditor companies of the tests (FR01, DE01, ES01, IT01, GB01, US01), read by every
    ``NotifierSettings`` built in a test (session scope: before module fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RELANCE_NOTIFIER_COMPANIES_FILE", str(COMPANIES_FILE))
        yield COMPANIES_FILE
