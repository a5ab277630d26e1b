"""The report's charts, drawn with matplotlib (Agg backend, no display needed).

Each function returns a :class:`~matplotlib.figure.Figure`; :func:`svg` turns one into an
inline ``<svg>`` element (text kept as text, no date, stable ids, so the same data gives
the same bytes) and :func:`png` into PNG bytes. Figures are built with the object API, not
pyplot, so nothing global is kept between reports.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

# the backend is chosen before anything else of matplotlib is imported
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

from services.reporting.report_data import AgedRow, DsoPoint, TrendPoint

# Colours of the age buckets, from not yet due (green) to the oldest (dark red).
BUCKET_COLOURS = ("#4e9a06", "#c4a000", "#f57900", "#ce5c00", "#cc0000", "#a40000", "#5c0000")
SERIES_COLOURS = ("#3465a4", "#73d216", "#f57900", "#75507b", "#c17d11", "#cc0000", "#555753")
WIDTH, HEIGHT = 8.0, 3.6


def _colour(palette: Sequence[str], index: int) -> str:
    return palette[min(index, len(palette) - 1)] if index >= 0 else palette[0]


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11, loc="left")
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _money_axis(axes: Axes) -> None:
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _legend_right(axes: Axes) -> None:
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)


def _float(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def aged_balance(rows: Sequence[AgedRow], buckets: Sequence[str], currency: str) -> Figure:
    """Stacked bars per company: the open amounts of each age bucket."""
    figure, axes = _figure(f"Aged balance by company ({currency})")
    companies = [row.company_code for row in rows] or ["-"]
    bottoms = [0.0] * len(companies)
    for index, bucket in enumerate(buckets):
        heights = [_float(row.amounts.get(bucket)) for row in rows] or [0.0]
        axes.bar(
            companies,
            heights,
            bottom=bottoms,
            label=bucket,
            color=_colour(BUCKET_COLOURS, index),
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    _money_axis(axes)
    _legend_right(axes)
    return figure


def aged_trend(points: Sequence[TrendPoint], buckets: Sequence[str], currency: str) -> Figure:
    """Stacked areas per day: the aged balance of each bucket over the trend window."""
    figure, axes = _figure(f"Aged balance trend ({currency})")
    days = list(range(len(points)))
    if days:
        series = [[_float(point.amounts.get(bucket)) for point in points] for bucket in buckets]
        axes.stackplot(
            days,
            series,
            labels=list(buckets),
            colors=[_colour(BUCKET_COLOURS, i) for i in range(len(buckets))],
        )
        _money_axis(axes)
        _legend_right(axes)
        step = max(1, len(points) // 10)
        ticks = days[::step]
        axes.set_xticks(ticks, [points[t].day.isoformat() for t in ticks], fontsize=8)
        figure.autofmt_xdate()
    return figure


def dso(points: Sequence[DsoPoint]) -> Figure:
    """DSO in days per month, one line per company."""
    figure, axes = _figure("DSO per month (countback, days)")
    companies = sorted({point.company_code for point in points})
    for index, company in enumerate(companies):
        mine = [p for p in points if p.company_code == company]
        axes.plot(
            [p.month.strftime("%Y-%m") for p in mine],
            [float(p.dso_days) for p in mine],
            marker="o",
            label=company,
            color=_colour(SERIES_COLOURS, index),
        )
    if companies:
        axes.legend(fontsize=8)
        figure.autofmt_xdate()
    return figure


def step_effectiveness(steps: Sequence[dict[str, object]]) -> Figure:
    """Share of reminded invoices paid within 7, 14 and 30 days, per scenario step."""
    figure, axes = _figure("Paid after each step (share of invoices reminded)")
    labels = [f"{s['scenario_id']} / {s['step_name']}\n({s['reminders']} sent)" for s in steps]
    width = 0.27
    for index, days in enumerate((7, 14, 30)):
        values = [_float(s[f"paid_within_{days}_days"]) for s in steps]  # type: ignore[arg-type]
        positions = [n + (index - 1) * width for n in range(len(steps))]
        axes.bar(
            positions,
            values,
            width=width,
            label=f"within {days} days",
            color=_colour(SERIES_COLOURS, index),
        )
    axes.set_xticks(range(len(steps)), labels, rotation=20, ha="right", fontsize=8)
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    if steps:
        axes.legend(fontsize=8)
    return figure


def disputes_by_reason(
    rows: Sequence[dict[str, object]], bands: Sequence[str] = ("0-7", "8-30", "31-60", "over_60")
) -> Figure:
    """Open disputes per reason, stacked by age band (days since opened)."""
    figure, axes = _figure("Open disputes by reason and age (days open)")
    reasons = sorted({str(r["category"]) for r in rows}) or ["-"]
    bottoms = [0.0] * len(reasons)
    for index, band in enumerate(bands):
        heights = [
            float(
                sum(
                    int(r["disputes"])  # type: ignore[call-overload]
                    for r in rows
                    if r["category"] == reason and r["age_band"] == band
                )
            )
            for reason in reasons
        ]
        axes.bar(
            reasons, heights, bottom=bottoms, label=band, color=_colour(BUCKET_COLOURS, index + 1)
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_right(axes)
    return figure


def promises(rows: Sequence[dict[str, object]]) -> Figure:
    """Promises to pay per month of the promised date: kept, broken, pending."""
    figure, axes = _figure("Promises to pay by promised month")
    months: list[date] = [r["month"] for r in rows]  # type: ignore[misc]
    labels = [m.strftime("%Y-%m") for m in months]
    bottoms = [0.0] * len(labels)
    for index, status in enumerate(("kept", "broken", "pending")):
        heights = [float(r[status]) for r in rows]  # type: ignore[arg-type]
        colour = ("#4e9a06", "#cc0000", "#babdb6")[index]
        axes.bar(labels, heights, bottom=bottoms, label=status, color=colour, width=0.6)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if rows:
        _legend_right(axes)
    return figure


def svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element, deterministic for the same data."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "relance"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def png(figure: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
