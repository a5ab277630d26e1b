"""Composing: the CPU of one email with its PDF statement, in one process, by part.

Run with ``python -m bench.composing [--emails N] [--rounds R] [--invoices K]``. Composes N
of ``bench.notifier``'s emails (K invoices a statement, the demo's FR01) R times in this
process, as a composing worker does (``EmailComposer.compose`` then the message's bytes),
and prints the best and the median of the rounds in milliseconds per email, all in, and for
the parts timed alone over the same emails: the PDF statement, the MIME message (built and
serialised), the templates. The load average and a ``bench.limits`` pydantic figure are
printed before and after: the host is shared. Nothing is asserted: these are measurements;
run it alternately with the code before a change to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.limits import print_host
from bench.notifier import NOW
from bench.notifier import reminder as bench_reminder
from contracts import dunning
from services.notifier.composing.composer import CustomerView, EmailComposer
from services.notifier.settings import NotifierSettings

DEMO_COMPANIES = Path(__file__).resolve().parents[1] / "simulation" / "companies.yaml"


def emails(count: int, invoices: int) -> list[tuple[dunning.Reminder, CustomerView]]:
    """``bench.notifier``'s reminders and customers, as the dispatcher hands them over."""
    out = []
    for n in range(count):
        reminder = bench_reminder(n, invoices, NOW)
        contacts = [
            {"role": "billing", "email": f"compta{n}@client.example"},
            {"role": "buyer", "email": f"achats{n}@client.example"},
        ]
        view = CustomerView.of_row(f"Client {n} SAS", "fr" if n % 3 else "en", json.dumps(contacts))
        out.append((reminder, view))
    return out


def _rounds(work: Callable[[], None], rounds: int, count: int) -> list[float]:
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        spent.append((time.process_time() - started) * 1000 / count)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--invoices", type=int, default=3, help="invoices per statement")
    args = parser.parse_args()
    settings = NotifierSettings(companies_file=DEMO_COMPANIES)
    composer = EmailComposer.load(settings)
    batch = emails(args.emails, args.invoices)
    composed: list[Any] = []

    def all_in() -> None:
        composed.clear()
        for reminder, view in batch:
            email = composer.compose(reminder, reminder.invoices, view, NOW)
            composed.append(email.content if hasattr(email, "content") else email.message)
            if not hasattr(email, "content"):
                email.message.as_bytes()

    def templates() -> None:
        for reminder, view in batch:
            composer.render_reminder(reminder, reminder.invoices, view, NOW)

    from services.notifier.composing import composer as composer_module

    pdf_args: list[dict[str, Any]] = []
    original = composer_module.statement_pdf  # type: ignore[attr-defined]

    def noting(**kwargs: Any) -> bytes:
        pdf_args.append(kwargs)
        return original(**kwargs)

    setattr(composer_module, "statement_pdf", noting)  # noqa: B010 (noting the arguments)
    all_in()
    setattr(composer_module, "statement_pdf", original)  # noqa: B010

    def pdfs() -> None:
        for kwargs in pdf_args:
            original(**kwargs)

    print_host("before")
    figures = {
        "all in": _rounds(all_in, args.rounds, args.emails),
        "PDF statement": _rounds(pdfs, args.rounds, args.emails),
        "templates": _rounds(templates, args.rounds, args.emails),
    }
    print_host("after")
    print(f"{args.emails} emails x {args.rounds} rounds")
    for name, spent in figures.items():
        print(f"{name:>14}: best {min(spent):.3f} ms, median {statistics.median(spent):.3f} ms")
    rest = min(figures["all in"]) - min(figures["PDF statement"]) - min(figures["templates"])
    print(f"{'MIME (rest)':>14}: {rest:.3f} ms (best all in minus the parts' best)")


if __name__ == "__main__":
    main()
