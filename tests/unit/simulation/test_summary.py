from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from simulation.generator import Size
from simulation.summary import DsoRow, dso_lines, months_spanned


def test_months_spanned_counts_every_month_touched() -> None:
    assert months_spanned(date(2026, 1, 5), date(2026, 1, 31)) == 1
    assert months_spanned(date(2026, 1, 5), date(2026, 2, 18)) == 2
    assert months_spanned(date(2025, 11, 30), date(2026, 2, 1)) == 4


@pytest.mark.parametrize(("size", "months"), [(Size.small(), 2), (Size.demo(), 5)])
def test_the_demo_histories_cover_their_last_month(size: Size, months: int) -> None:
    # the small demo: 2026-01-05 to 2026-02-18; the full one: 2026-01-05 to 2026-05-04
    last = size.start + timedelta(days=size.days - 1)
    assert months_spanned(size.start, last) == months


def test_months_spanned_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        months_spanned(date(2026, 2, 1), date(2026, 1, 31))


def test_dso_lines_one_line_per_company_months_in_order() -> None:
    rows = [
        DsoRow("GB01", date(2026, 2, 1), Decimal("33.38")),
        DsoRow("FR01", date(2026, 2, 1), Decimal("41.16")),
        DsoRow("FR01", date(2026, 1, 1), Decimal("53.20")),
        DsoRow("GB01", date(2026, 1, 1), None),
    ]
    assert dso_lines(rows, date(2026, 2, 18)) == [
        "DSO (countback, days) per company and month, as of 2026-02-18 (reporting.dso_monthly):",
        "  FR01: Jan 53, Feb 41",
        "  GB01: Jan -, Feb 33",
    ]


def test_dso_lines_without_rows_say_so_instead_of_an_empty_header() -> None:
    lines = dso_lines([], date(2026, 2, 18))
    assert len(lines) == 1
    assert lines[0].startswith("DSO (countback, days) per company and month, as of 2026-02-18: ")
    assert "none" in lines[0]
