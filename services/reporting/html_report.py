"""The self-contained HTML report: one file, inline CSS and inline SVG charts, no scripts.

:func:`render` turns :class:`~services.reporting.report_data.ReportData` into HTML with a
Jinja2 template (autoescaped, strict about undefined names); :func:`write_charts` writes the
same charts as PNG files. Customers appear by id only: no names, no contacts.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import jinja2
from markupsafe import Markup
from matplotlib.figure import Figure

from services.reporting import charts
from services.reporting.report_data import ReportData

MISSING = "n/a"


def money(value: object) -> str:
    """An amount to the cent with thousands separators; ``n/a`` when a rate was missing."""
    if value is None:
        return MISSING
    return f"{Decimal(str(value)):,.2f}"


def share(value: object) -> str:
    """A share from 0 to 1 as a percentage with one decimal."""
    if value is None:
        return MISSING
    return f"{Decimal(str(value)) * 100:.1f} %"


def days(value: object) -> str:
    if value is None:
        return MISSING
    return f"{Decimal(str(value)):.2f}"


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Relance receivables report, {{ data.as_of.isoformat() }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 1px solid #999; }
.note { color: #666; font-size: 0.85em; }
figure { margin: 0.5em 0; } svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>Relance receivables report</h1>
<p>As of the end of <strong id="as-of">{{ data.as_of.isoformat() }}</strong>.
Amounts in <strong id="reporting-currency">{{ data.reporting_currency }}</strong>, each
converted at the rate of the day. Customers are shown by id only.</p>

<h2 id="aged-balance">Aged balance</h2>
<figure>{{ svgs.aged_balance }}</figure>
<table id="aged-balance-table">
<tr><th>company</th>{% for b in data.buckets %}<th class="n">{{ b }}</th>{% endfor %}
<th class="n">total</th><th class="n">invoices</th></tr>
{% for row in data.aged %}
<tr><td>{{ row.company_code }}</td>
{% for b in data.buckets %}<td class="n">{{ row.amounts.get(b, 0) | money }}</td>{% endfor %}
<td class="n">{{ row.total | money }}</td><td class="n">{{ row.invoices }}</td></tr>
{% endfor %}
<tr class="total"><td>all</td>
{% for b in data.buckets %}
<td class="n" data-bucket="{{ b }}">{{ totals[b] | money }}</td>{% endfor %}
<td class="n">{{ grand_total | money }}</td><td class="n">{{ invoices }}</td></tr>
</table>
{% if data.unconverted %}
<p class="note">Not converted (no rate known):
{% for currency, count, amount in data.unconverted %}{{ count }} invoice(s) for
{{ amount | money }} {{ currency }}{% if not loop.last %}; {% endif %}{% endfor %}.</p>
{% endif %}

<h2 id="aged-trend">Aged balance trend</h2>
<figure>{{ svgs.aged_trend }}</figure>
<p class="note">{{ snapshot_days }} day(s) from the daily snapshots,
{{ history_days }} day(s) recomputed from the open-amount history.</p>

<h2 id="dso">DSO per month and company</h2>
<figure>{{ svgs.dso }}</figure>
<table id="dso-table">
<tr><th>company</th><th>month</th><th class="n">receivables</th><th class="n">DSO (days)</th></tr>
{% for p in data.dso %}
<tr><td>{{ p.company_code }}</td><td>{{ p.month.strftime("%Y-%m") }}</td>
<td class="n">{{ p.receivables | money }}</td><td class="n">{{ p.dso_days | days }}</td></tr>
{% endfor %}
</table>
<p class="note">Countback method; the month of the report's day is counted up to that day.</p>

<h2 id="effectiveness">Dunning effectiveness per scenario step</h2>
<figure>{{ svgs.steps }}</figure>
<table id="effectiveness-table">
<tr><th>scenario</th><th>step</th><th class="n">reminders due</th><th class="n">sent</th>
<th class="n">invoices</th><th class="n">paid ≤ 7 d</th><th class="n">≤ 14 d</th>
<th class="n">≤ 30 d</th><th class="n">promises</th><th class="n">disputes</th></tr>
{% for s in data.steps %}
<tr><td>{{ s.scenario_id }}</td><td>{{ s.step_name }}</td>
<td class="n">{{ s.reminders_due }}</td><td class="n">{{ s.reminders }}</td>
<td class="n">{{ s.invoices_reminded }}</td>
<td class="n">{{ s.paid_within_7_days | share }}</td>
<td class="n">{{ s.paid_within_14_days | share }}</td>
<td class="n">{{ s.paid_within_30_days | share }}</td>
<td class="n">{{ s.promises_within_30_days }}</td>
<td class="n">{{ s.disputes_within_30_days }}</td></tr>
{% endfor %}
</table>
<p class="note">Reminders count as sent when the notifier handed them to a provider; the
shares are of the invoices sent, paid 0 to 7, 14 or 30 days after the day sent.</p>

<h2 id="disputes">Disputes</h2>
<figure>{{ svgs.disputes }}</figure>
<table id="open-disputes-table">
<tr><th>reason</th><th>owner</th><th>age (days)</th><th class="n">open</th>
<th class="n">past owner's due date</th><th class="n">invoices</th>
<th class="n">amount held</th></tr>
{% for d in data.open_disputes %}
<tr><td>{{ d.category }}</td><td>{{ d.owner_role }}</td><td>{{ d.age_band }}</td>
<td class="n">{{ d.disputes }}</td><td class="n">{{ d.overdue_disputes }}</td>
<td class="n">{{ d.invoices }}</td><td class="n">{{ d.disputed_amount_reporting | money }}</td></tr>
{% endfor %}
</table>
<table id="dispute-resolution-table">
<tr><th>reason</th><th>owner</th><th>outcome</th><th class="n">resolved</th>
<th class="n">average days</th><th class="n">median days</th><th class="n">late</th></tr>
{% for d in data.dispute_resolution %}
<tr><td>{{ d.category }}</td><td>{{ d.owner_role }}</td><td>{{ d.outcome }}</td>
<td class="n">{{ d.resolved }}</td><td class="n">{{ d.average_days_to_resolve | days }}</td>
<td class="n">{{ d.median_days_to_resolve | days }}</td>
<td class="n">{{ d.resolved_late }}</td></tr>
{% endfor %}
</table>

<h2 id="promises">Promises to pay and payment plans</h2>
<figure>{{ svgs.promises }}</figure>
<table id="promises-table">
<tr><th>promised month</th><th class="n">promises</th><th class="n">kept</th>
<th class="n">broken</th><th class="n">pending</th></tr>
{% for p in data.promises %}
<tr><td>{{ p.month.strftime("%Y-%m") }}</td><td class="n">{{ p.promises }}</td>
<td class="n">{{ p.kept }}</td><td class="n">{{ p.broken }}</td>
<td class="n">{{ p.pending }}</td></tr>
{% endfor %}
</table>
{% if data.broken_promises %}
<table id="broken-promises-table">
<tr><th>customer</th><th>company</th><th class="n">promises</th><th class="n">kept</th>
<th class="n">broken</th><th class="n">broken rate</th></tr>
{% for p in data.broken_promises %}
<tr><td>{{ p.customer_id }}</td><td>{{ p.company_code or "" }}</td>
<td class="n">{{ p.promises }}</td><td class="n">{{ p.kept }}</td><td class="n">{{ p.broken }}</td>
<td class="n">{{ p.broken_rate | share }}</td></tr>
{% endfor %}
</table>
{% endif %}
<table id="plans-table">
<tr><th>company</th><th>status</th><th class="n">plans</th>
<th class="n">with a missed instalment</th>
<th class="n">instalments missed</th><th class="n">amount</th></tr>
{% for p in data.plans %}
<tr><td>{{ p.company_code or "" }}</td><td>{{ p.status }}</td><td class="n">{{ p.plans }}</td>
<td class="n">{{ p.plans_with_missed_instalments }}</td>
<td class="n">{{ p.instalments_missed }}</td>
<td class="n">{{ p.total_amount_reporting | money }}</td></tr>
{% endfor %}
</table>

<h2 id="escalations">Escalations</h2>
<table id="escalations-table">
<tr><th>month</th><th>company</th><th>action</th><th class="n">escalations</th>
<th class="n">customers</th><th class="n">invoices</th><th class="n">open amount</th></tr>
{% for e in data.escalations %}
<tr><td>{{ e.month.strftime("%Y-%m") }}</td><td>{{ e.company_code }}</td><td>{{ e.action }}</td>
<td class="n">{{ e.escalations }}</td><td class="n">{{ e.customers }}</td>
<td class="n">{{ e.invoices }}</td><td class="n">{{ e.total_open_reporting | money }}</td></tr>
{% else %}
<tr><td colspan="7">none</td></tr>
{% endfor %}
</table>

<h2 id="worklist">Collector worklist (top {{ data.worklist | length }})</h2>
<table id="worklist-table">
<tr><th class="n">rank</th><th>company</th><th>customer</th><th>collector</th><th>risk</th>
<th class="n">overdue invoices</th><th class="n">overdue amount</th>
<th class="n">amount at risk</th><th class="n">oldest (days)</th></tr>
{% for w in data.worklist %}
<tr><td class="n">{{ w.rank }}</td><td>{{ w.company_code }}</td><td>{{ w.customer_id }}</td>
<td>{{ w.collector or "" }}</td><td>{{ w.risk_rating }}</td>
<td class="n">{{ w.overdue_invoices }}</td>
<td class="n">{{ w.overdue_amount_reporting | money }}</td>
<td class="n">{{ w.amount_at_risk | money }}</td><td class="n">{{ w.oldest_days_overdue }}</td></tr>
{% endfor %}
</table>

<h2 id="unmatched-cash">Unmatched cash (oldest {{ data.unmatched_cash | length }})</h2>
<p>Payments and credit notes waiting for an invoice not received yet; nothing of them is
applied until they are matched, released or dead-lettered.</p>
<table id="unmatched-cash-table">
<tr><th>company</th><th>customer</th><th>document</th><th>kind</th>
<th class="n">amount</th><th>currency</th><th>value date</th><th>awaiting</th>
<th class="n">waiting (days)</th><th>alert</th></tr>
{% for u in data.unmatched_cash %}
<tr><td>{{ u.company_code }}</td><td>{{ u.customer_id }}</td><td>{{ u.document_id }}</td>
<td>{{ u.kind }}</td><td class="n">{{ u.amount | money }}</td><td>{{ u.currency }}</td>
<td>{{ u.value_date }}</td><td>{{ u.awaiting }}</td><td class="n">{{ u.age_days }}</td>
<td>{{ "over alert age" if u.over_alert_age else "" }}</td></tr>
{% else %}
<tr><td colspan="10">none</td></tr>
{% endfor %}
</table>
</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
)
_ENVIRONMENT.filters.update({"money": money, "share": share, "days": days})
_TEMPLATE = _ENVIRONMENT.from_string(TEMPLATE)


def figures(data: ReportData) -> dict[str, Callable[[], Figure]]:
    """The report's charts by name, each built on demand."""
    return {
        "aged_balance": lambda: charts.aged_balance(
            data.aged, data.buckets, data.reporting_currency
        ),
        "aged_trend": lambda: charts.aged_trend(data.trend, data.buckets, data.reporting_currency),
        "dso": lambda: charts.dso(data.dso),
        "steps": lambda: charts.step_effectiveness(data.steps),
        "disputes": lambda: charts.disputes_by_reason(data.open_disputes),
        "promises": lambda: charts.promises(data.promises),
    }


def render(data: ReportData) -> str:
    """The whole report as one HTML document."""
    svgs = {
        name: Markup(charts.svg(build()))  # noqa: S704  (matplotlib escapes the text it draws)
        for name, build in figures(data).items()
    }
    totals = data.bucket_totals()
    grand_total = (
        None
        if any(v is None for v in totals.values())
        else sum((v for v in totals.values() if v is not None), Decimal(0))
    )
    return _TEMPLATE.render(
        data=data,
        svgs=svgs,
        totals=totals,
        grand_total=grand_total,
        invoices=sum(row.invoices for row in data.aged),
        snapshot_days=sum(1 for p in data.trend if p.source == "snapshot"),
        history_days=sum(1 for p in data.trend if p.source == "history"),
    )


def write_charts(data: ReportData, folder: Path) -> list[Path]:
    """Write each chart as ``<name>.png`` into ``folder``; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in figures(data).items():
        path = folder / f"{name}.png"
        path.write_bytes(charts.png(build()))
        written.append(path)
    return written
