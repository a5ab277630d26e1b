"""`relance report html|charts` on a real database fed through the service's handler."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.reporting import refresh
from services.reporting.domain.aging import buckets
from services.reporting.html_report import money
from services.reporting.refresh import COUNTBACK_MONTHS
from tests.integration.reporting.conftest import feed
from tests.integration.reporting.generated_ledger import TODAY, aged_balance, dso, generate

pytestmark = pytest.mark.integration

RELANCE = str(Path(sys.executable).parent / "relance")
SVG = "{http://www.w3.org/2000/svg}svg"


async def _relance(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "RELANCE_REPORTING_CLOCK": "system"}
    process = await asyncio.create_subprocess_exec(
        RELANCE,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _pngs(folder: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in folder.glob("*.png")}


def _cells(html: str, table: str) -> str:
    start = html.index(f'<table id="{table}"')
    return html[start : html.index("</table>", start)]


async def test_the_html_report_holds_the_figures_and_valid_svg(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    generated = generate(31, invoice_count=200)
    await feed(pool, generated.events)
    async with pool.acquire() as connection:
        # two snapshots in the trend window; the other days come from the history
        await refresh.snapshot_aged_balance(connection, TODAY)
        await refresh.snapshot_aged_balance(connection, TODAY - timedelta(days=5))
    out = tmp_path / "reports" / "report.html"
    code, stdout, stderr = await _relance(
        database_url, "report", "html", "--out", str(out), "--as-of", TODAY.isoformat()
    )
    assert code == 0, stderr
    assert str(out) in stdout
    html = out.read_text(encoding="utf-8")

    # aged balance per bucket over every company, to the cent
    model = aged_balance(generated.invoices, TODAY)
    expected: dict[str, Decimal] = {b.label: Decimal(0) for b in buckets()}
    for (_, _, _, bucket), (_, _, converted) in model.items():
        assert converted is not None
        expected[bucket] += converted
    assert sum(expected.values()) > 0
    totals = dict(re.findall(r'data-bucket="([^"]+)">([^<]+)</td>', html))
    assert totals == {bucket: money(amount) for bucket, amount in expected.items()}

    # DSO of the report's month, per company, as the model's countback gives it
    dso_table = _cells(html, "dso-table")
    for company in ("DE01", "FR01"):
        receivables, days = dso(generated.invoices, company, TODAY.replace(day=1), COUNTBACK_MONTHS)
        row = (
            f"<tr><td>{company}</td><td>{TODAY:%Y-%m}</td>\n"
            f'<td class="n">{money(receivables)}</td><td class="n">{days:.2f}</td></tr>'
        )
        assert row in dso_table

    # one inline SVG per chart, each well-formed; nothing fetched from elsewhere
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    assert len(svgs) == 6
    for svg in svgs:
        assert ET.fromstring(svg).tag == SVG
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert "<link" not in html

    # sections with their figures, and no personal data at all
    assert "first reminder" in _cells(html, "effectiveness-table")
    assert "collection_agency" in _cells(html, "escalations-table")
    worklist = _cells(html, "worklist-table")
    first = await pool.fetchrow("SELECT * FROM collector_worklist_as_of($1) WHERE rank = 1", TODAY)
    assert first is not None
    assert f"<td>{first['customer_id']}</td>" in worklist
    assert money(first["amount_at_risk"]) in worklist
    for personal in ("example.com", "Jeanne", "+33", "Customer 1 SAS"):
        assert personal not in html
    assert "2 day(s) from the daily snapshots,\n28 day(s) recomputed" in html

    # the same data gives the same bytes
    again = tmp_path / "again.html"
    code, _, stderr = await _relance(
        database_url, "report", "html", "--out", str(again), "--as-of", TODAY.isoformat()
    )
    assert code == 0, stderr
    assert again.read_text(encoding="utf-8") == html


async def test_the_charts_command_writes_png_files(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    await feed(pool, generate(32, invoice_count=60).events)
    code, stdout, stderr = await _relance(
        database_url, "report", "charts", "--out", str(tmp_path), "--as-of", "2026-02-15"
    )
    assert code == 0, stderr
    pngs = _pngs(tmp_path)
    assert sorted(pngs) == sorted(
        ["aged_balance", "aged_trend", "dso", "steps", "disputes", "promises"]
    )
    assert all(content.startswith(b"\x89PNG") for content in pngs.values())
    assert "6 chart(s) as of 2026-02-15" in stdout


async def test_a_bad_day_or_database_is_refused_clearly(database_url: str, tmp_path: Path) -> None:
    code, _, stderr = await _relance(
        database_url, "report", "html", "--out", str(tmp_path / "r.html"), "--as-of", "2026-13-01"
    )
    assert code == 2
    assert "not a day" in stderr
    unreachable = "postgresql://relance:relance@127.0.0.1:1/relance"
    code, _, stderr = await _relance(
        unreachable, "report", "html", "--out", str(tmp_path / "r.html"), "--as-of", "2026-03-01"
    )
    assert code == 2
    assert "cannot read the reporting schema" in stderr
    assert not (tmp_path / "r.html").exists()


async def test_an_empty_schema_gives_a_report_of_zeros(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "empty.html"
    before = datetime.now(UTC).date()
    code, _, stderr = await _relance(database_url, "report", "html", "--out", str(out))
    after = datetime.now(UTC).date()
    assert code == 0, stderr
    html = out.read_text(encoding="utf-8")
    totals = dict(re.findall(r'data-bucket="([^"]+)">([^<]+)</td>', html))
    assert totals == {b.label: "0.00" for b in buckets()}
    assert len(re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)) == 6
    # without --as-of: today on the service's clock (the system clock here), in UTC
    assert any(f'<strong id="as-of">{day.isoformat()}</strong>' in html for day in (before, after))
