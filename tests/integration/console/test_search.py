"""Search by name on a real PostgreSQL: whether the first, stricter similarity threshold
finds enough names or the search falls back to pg_trgm's default, it finds the names the
default threshold ranks first."""

from __future__ import annotations

import asyncpg
import pytest

from services.console import read_model
from tests.integration.console.test_read_model import MANAGER

pytestmark = pytest.mark.integration


async def _best_under_default(pool: asyncpg.Pool, text: str, limit: int) -> list[str]:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SET LOCAL pg_trgm.similarity_threshold = 0.3")
        rows = await connection.fetch(
            "SELECT customer_id FROM customers WHERE name OPERATOR(public.%) $1"
            " ORDER BY public.similarity(name, $1) DESC, customer_id LIMIT $2",
            text,
            limit,
        )
    return [r["customer_id"] for r in rows]


@pytest.mark.parametrize(("text", "limit"), [("Atelier Duboix", 20), ("Atelier Duboix", 70)])
async def test_names_found_as_under_the_default_threshold(
    pool: asyncpg.Pool, text: str, limit: int
) -> None:
    names = [(f"C-{n:04d}", f"Atelier Dubois {n}") for n in range(40)]
    names += [(f"C-{n:04d}", f"Atelier Dupont {n}") for n in range(40, 80)]
    names += [(f"C-{n:04d}", f"Boulangerie Martin {n}") for n in range(80, 100)]
    await pool.executemany(
        """INSERT INTO customers (customer_id, company_code, version, name, country, language,
                                  customer_type, market, risk_rating)
           VALUES ($1, 'FR01', 1, $2, 'FR', 'fr', 'company', 'domestic', 'medium')""",
        names,
    )
    expected = await _best_under_default(pool, text, limit)
    found = await read_model.search(pool, MANAGER, text, limit)
    assert {f.customer_id for f in found} == set(expected)
    assert "C-0085" not in {f.customer_id for f in found}  # a bakery is not similar
    if limit > 40:  # the stricter threshold finds the 40 Dubois only: the default's turn
        assert any(f.name.startswith("Atelier Dupont") for f in found)
