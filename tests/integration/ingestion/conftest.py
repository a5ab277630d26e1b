"""Fixtures of the ingestion integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_schemas() -> tuple[str, ...]:
    """Ingestion's schema, migrated, in each test's fresh database."""
    return ("ingestion",)
