"""The batch's reads find their rows whatever the keys hold.

The reads pass their keys as JSON arrays (``json_array_elements_text`` on the server), not
as ``text[]`` parameters: asyncpg checks every element of an array parameter against
``collections.abc`` in Python. Keys with quotes, backslashes, commas, braces, accents and
characters outside the BMP (a surrogate pair in JSON) must come back exactly, and only
the rows asked for.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from services.ingestion import queries
from services.ingestion.app import DEFINITION
from services.ingestion.domain.book import DocumentRow, InvoiceRow
from services.runtime.database import Connection

pytestmark = pytest.mark.integration

PARKED_AT = datetime(2026, 1, 5, tzinfo=UTC)

ODD = ['a"b', "back\\slash", "comma,brace{}", "Zoë Ünïcödé", "emoji 🧾", "  spaced  ", "NULL"]


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


def payment_row(number: str) -> DocumentRow:
    """An applied payment of 1 EUR whose id and customer are both ``number``."""
    return DocumentRow(
        "FR01",
        "payment",
        number,
        number,
        "EUR",
        Decimal("1"),
        date(2026, 1, 3),
        "d",
        "applied",
        uuid.uuid4(),
    )


async def test_reads_find_odd_keys_exactly(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await queries.save_invoices(
            connection,
            [invoice(c, n, n) for c in ("FR01", ODD[0]) for n in ODD]
            + [invoice("FR01", f"settled {n}", n, "settled") for n in ODD],
            [],
        )
        await queries.save_documents(
            connection,
            [payment_row(n) for n in ODD],
            [],
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
        reach = {(c, n, "EUR"): Decimal("10") for c in ("FR01", ODD[0]) for n in some}
        opened = await queries.open_invoices_reached(connection, reach)
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


def odd_amounts() -> list[Decimal]:
    """Amounts in every form a ``Decimal`` takes: exponents, trailing zeros, signs, rounding."""
    rng = random.Random(22)
    edges = [
        Decimal("1E+3"),
        Decimal("1.0E+2"),
        Decimal("0E-7"),
        Decimal("-0"),
        Decimal("0.00005"),
        Decimal("0.00015"),
        Decimal("-0.00005"),
        Decimal("1E-10"),
        Decimal("5.10"),
        Decimal("5.1000"),
        Decimal("99999999999999.9999"),
        Decimal("12345678901234.56785"),
        Decimal("123456789.123456789"),
        Decimal("-17.5"),
        Decimal("7"),
    ]
    drawn = [
        Decimal((rng.randrange(2), tuple(rng.randrange(10) for _ in range(digits)), exponent))
        for digits in range(1, 19)
        for exponent in range(-9, 14 - digits)
        for _ in range(3)
    ]
    return edges + drawn


async def test_amounts_as_text_are_the_numbers_binary_amounts_were(pool: asyncpg.Pool) -> None:
    """The upserts send amounts as ``str(Decimal)`` cast to ``numeric`` (migration 0006)
    instead of asyncpg's binary ``numeric``: the same number, scale included, for every
    form of ``Decimal``; then the ledger's columns round both alike."""
    amounts = odd_amounts()
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT b::text AS b, t::numeric::text AS t, b::numeric(18, 4)::text AS b4, "
            "t::numeric::numeric(18, 4)::text AS t4 "
            "FROM unnest($1::numeric[], $2::text[]) AS u(b, t)",
            amounts,
            [str(a) for a in amounts],
        )
    assert len(rows) == len(amounts)
    assert [r["t"] for r in rows] == [r["b"] for r in rows]
    assert [r["t4"] for r in rows] == [r["b4"] for r in rows]


async def test_upserts_store_the_amounts_given(pool: asyncpg.Pool) -> None:
    """Invoices, documents and balances written with amounts as text read back as the
    ``numeric(18, 4)`` of the ``Decimal`` given."""
    amounts = [a for a in odd_amounts() if round(a, 4) > 0]
    async with pool.acquire() as connection, connection.transaction():
        await queries.save_invoices(
            connection,
            [
                replace(invoice("FR01", f"F{n}", f"C{n}"), amount=a, open_amount=a)
                for n, a in enumerate(amounts)
            ],
            [],
        )
        await queries.save_documents(
            connection,
            [
                DocumentRow(
                    "FR01",
                    "payment",
                    f"P{n}",
                    f"C{n}",
                    "EUR",
                    a,
                    date(2026, 1, 3),
                    "d",
                    "applied",
                    uuid.uuid4(),
                )
                for n, a in enumerate(amounts)
            ],
            [],
        )
        await queries.save_balances(
            connection, {("FR01", f"C{n}", "EUR"): a for n, a in enumerate(amounts)}, {}
        )
        want = {
            r["n"]: r["a"]
            for r in await connection.fetch(
                "SELECT n::int - 1 AS n, a::numeric(18, 4) AS a "
                "FROM unnest($1::numeric[]) WITH ORDINALITY AS u(a, n)",
                amounts,
            )
        }
        invoices = await connection.fetch(
            "SELECT substr(invoice_number, 2)::int AS n, amount, open_amount FROM invoices"
        )
        assert {r["n"]: r["amount"] for r in invoices} == want
        assert {r["n"]: r["open_amount"] for r in invoices} == want
        documents = await connection.fetch(
            "SELECT substr(document_id, 2)::int AS n, amount FROM documents"
        )
        assert {r["n"]: r["amount"] for r in documents} == want
        balances = await connection.fetch(
            "SELECT substr(customer_id, 2)::int AS n, balance FROM credit_balances"
        )
        assert {r["n"]: r["balance"] for r in balances} == want
        read = await queries.invoices_by_key(connection, [("FR01", "F0"), ("FR01", "F1")])
        assert sorted((r.invoice_number, str(r.amount)) for r in read) == [
            ("F0", str(want[0])),
            ("F1", str(want[1])),
        ]


async def test_credit_lots_read_back_as_written(pool: asyncpg.Pool) -> None:
    """A balance's lots (value date or none, amount in every form a ``Decimal`` takes) are
    stored as JSON text and read back equal, in order."""
    amounts = [a for a in odd_amounts() if a > 0]
    lots = [(None if n % 5 == 0 else date(2026, 1, 1 + n % 28), a) for n, a in enumerate(amounts)]
    async with pool.acquire() as connection, connection.transaction():
        key = ("FR01", "C1", "EUR")
        await queries.save_balances(connection, {key: Decimal("1")}, {key: lots})
        _, read = await queries.balances_of(connection, ["C1"])
        stored = await connection.fetchval("SELECT jsonb_array_length(lots) FROM credit_balances")
    assert stored == len(lots)
    assert read[key] == lots


class _Recording:
    """A connection that notes each statement read through it, to be explained after."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.statements: list[tuple[str, tuple[object, ...]]] = []

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.statements.append((query, args))
        return await self.connection.fetch(query, *args)

    async def execute(self, query: str, *args: object) -> str:
        self.statements.append((query, args))
        return await self.connection.execute(query, *args)


def _scans(plan: dict[str, object]) -> list[tuple[str, str]]:
    found = []
    if "Relation Name" in plan:
        found.append((str(plan["Node Type"]), str(plan["Relation Name"])))
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        found.extend(_scans(child))
    return found


async def test_the_ledger_keys_compare_byte_by_byte_in_every_index(pool: asyncpg.Pool) -> None:
    """Every text column of an index of the ledger's tables is in the C collation (migration
    0007): a btree under a libc collation calls strcoll at every comparison of a descent."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT t.relname, a.attname, coalesce(c.collname, '') AS collation "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) "
            "LEFT JOIN pg_collation c ON c.oid = a.attcollation "
            "WHERE n.nspname = $1 AND a.atttypid IN ('text'::regtype, 'bpchar'::regtype) "
            "AND t.relname IN ('customers', 'invoices', 'documents', 'allocations', "
            "'credit_balances', 'parked_documents')",
            DEFINITION.schema,
        )
    columns = {(r["relname"], r["attname"]): r["collation"] for r in rows}
    assert ("invoices", "invoice_number") in columns
    assert ("credit_balances", "currency") in columns
    assert {k: c for k, c in columns.items() if c != "C"} == {}


async def test_every_read_of_a_batch_uses_an_index_of_its_keys(pool: asyncpg.Pool) -> None:
    """The reads (and the updates by key) compare the C-collated keys with the JSON arrays'
    text or the row type's fields (the database's default collation): each must still find
    its rows through an index, not a scan of the table, which the planner would take
    (sequential scans being priced out) only when no index fits the comparison's
    collation."""
    async with pool.acquire() as connection, connection.transaction():
        await queries.save_invoices(connection, [invoice("FR01", n, n) for n in ODD], [])
        recording = _Recording(connection)
        some = sorted(ODD[1::2])
        await queries.invoices_by_key(recording, [("FR01", n) for n in ODD])  # type: ignore[arg-type]
        reach = {("FR01", n, "EUR"): Decimal("10") for n in some}
        await queries.open_invoices_reached(recording, reach)  # type: ignore[arg-type]
        await queries.customer_versions(recording, some)  # type: ignore[arg-type]
        await queries.balances_of(recording, some)  # type: ignore[arg-type]
        await queries.documents_by_key(recording, [("FR01", "payment", n) for n in some])  # type: ignore[arg-type]
        settled = [invoice("FR01", n, n, "settled") for n in some]
        await queries.save_invoices(recording, [], settled)  # type: ignore[arg-type]
        applied = [payment_row(n) for n in some]
        await queries.save_documents(recording, [], applied)  # type: ignore[arg-type]
        assert len(recording.statements) == 7
        await connection.execute("SET LOCAL enable_seqscan = off")
        for query, args in recording.statements:
            (plan,) = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {query}", *args)
            scans = [s for s in _scans(plan["Plan"]) if s[1] != "k"]
            assert scans, query
            # an index scan, or a bitmap heap scan over one: anything but a sequential scan
            assert all(kind != "Seq Scan" for kind, _ in scans), (query, scans)
