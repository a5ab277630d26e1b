"""The batch's reads find their rows whatever the keys hold.

The reads pass their keys as JSON arrays (``json_array_elements_text`` on the server), not
as ``text[]`` parameters: asyncpg checks every element of an array parameter against
``collections.abc`` in Python. Keys with quotes, backslashes, commas, braces, accents and
characters outside the BMP (a surrogate pair in JSON) must come back exactly, and only
the rows asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from services.ingestion import queries
from services.ingestion.app import DEFINITION
from services.ingestion.domain.book import DocumentRow, InvoiceRow
from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings

pytestmark = pytest.mark.integration

PARKED_AT = datetime(2026, 1, 5, tzinfo=UTC)

ODD = ['a"b', "back\\slash", "comma,brace{}", "Zoë Ünïcödé", "emoji 🧾", "  spaced  ", "NULL"]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrations.apply_async(database_url, DEFINITION.schema, DEFINITION.migrations)
    pool = await create_pool(DatabaseSettings(url=database_url), DEFINITION.schema)
    yield pool
    await pool.close()


def invoice(company: str, number: str, customer: str, status: str = "open") -> InvoiceRow:
    return InvoiceRow(
        company,
        number,
        customer,
        1,
        "EUR",
        Decimal("10"),
        Decimal("10") if status == "open" else Decimal(0),
        date(2026, 1, 1),
        date(2026, 2, 1),
        status,
        None,
        None,
        None,
        "{}",
        "digest",
    )


async def test_reads_find_odd_keys_exactly(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await queries.save_invoices(
            connection,
            [invoice(c, n, n) for c in ("FR01", ODD[0]) for n in ODD]
            + [invoice("FR01", f"settled {n}", n, "settled") for n in ODD],
        )
        await queries.save_documents(
            connection,
            [
                DocumentRow(
                    "FR01",
                    "payment",
                    n,
                    n,
                    "EUR",
                    Decimal("1"),
                    date(2026, 1, 3),
                    "d",
                    "applied",
                    uuid.uuid4(),
                )
                for n in ODD
            ],
        )
        await queries.save_balances(
            connection,
            {("FR01", n, "EUR"): Decimal("5") for n in ODD},
            {("FR01", n, "EUR"): [(date(2026, 1, 4), Decimal("5"))] for n in ODD},
        )
        await connection.execute(
            "INSERT INTO customers (customer_id, company_code, version, name, country, "
            "time_zone, language, document) SELECT c, 'FR01', 3, 'n', 'FR', 'Europe/Paris', "
            "'fr', '{}' FROM unnest($1::text[]) c",
            ODD,
        )
        asked = [("FR01", n) for n in ODD[::2]] + [(ODD[0], ODD[1]), ("FR01", "missing")]
        found = await queries.invoices_by_key(connection, asked)
        assert sorted(r.key for r in found) == sorted(asked[:-1])
        some = sorted(ODD[1::2])
        opened = await queries.open_invoices_of(connection, some)
        assert sorted((r.company_code, r.customer_id) for r in opened) == sorted(
            (c, n) for c in ("FR01", ODD[0]) for n in some
        )
        assert (
            sorted(r.customer_id for r in await queries.customer_versions(connection, some)) == some
        )
        balances, lots = await queries.balances_of(connection, some)
        assert sorted(balances) == [("FR01", n, "EUR") for n in some]
        assert lots[("FR01", ODD[1], "EUR")] == [(date(2026, 1, 4), Decimal("5"))]
        documents = await queries.documents_by_key(
            connection, [("FR01", "payment", n) for n in some] + [("FR01", "credit_note", ODD[1])]
        )
        assert sorted(d.document_id for d in documents) == some
        assert await queries.parked_awaiting(connection, some) == []
        await queries.save_parked(
            connection,
            [("FR01", "payment", "P1", ODD[4], [ODD[4], "x"], {}, "parked", None, PARKED_AT)],
        )
        (parked,) = await queries.parked_awaiting(connection, [ODD[4]])
        assert (parked[2], list(parked[4])) == ("P1", [ODD[4], "x"])
        assert await queries.parked_awaiting(connection, ["x y"]) == []
