"""Fixtures of the scheduler integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """The scheduler's schema, migrated, in each test's fresh database."""
    return ("scheduler",)
