"""Ingestion's rules in memory, this code against an older checkout, in one process.

Run with ``python -m bench.ingestion_apply_ab OLD [--events N] [--batch N] [--rounds N]``,
where ``OLD`` is a checkout of the code to compare with (``git worktree add``, or
``git archive <commit> | tar -x -C OLD``). Its ``Book`` (``book.py``, with its own
``allocation.py`` and ``ledger_events.py``) is loaded beside this checkout's under other
module names; both apply ``bench.ingestion``'s mix as ``bench.ingestion_apply`` does (parsing
and loading untimed, ``apply_all`` timed in process CPU time, the records built), each
from its own in-memory ledger, batch by batch: every batch is applied by one code then the
other, which one first alternating from batch to batch, so that the host's load and the
heap's size fall on both alike. Even so, on a loaded host one side can be favoured by a few
µs per ERP event, the same code against a copy of itself included (docs/ingestion.md, sixth
round): run it both ways (each checkout as ``OLD`` of the other) and take half the
difference. Across processes, and even run after run in one process,
the same code on a shared host moved by more than the few µs a change is worth.

With ``--payments-first`` the mix's invoices come after every other event (the order the
end-to-end runs mostly see: a payment arrives before its invoice, becomes credit, and the
invoice is paid from that credit when it opens); by default, the order generated.

It prints each run's µs per ERP event and, per code, the best and the median, with the load
average and a pydantic figure before and after. It checks that both reconcile with the
generator to the cent and that **the ledger events they emit are the same bytes** (ids,
envelopes, payloads, keys, headers, in the same order), and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import ingestion_apply
from bench.ingestion import erp_mix, expected_balances, reconcile
from bench.limits import measure_pydantic
from contracts.topics import ERP_INVOICES, Topic
from services.ingestion.domain import book as current_book
from services.ingestion.settings import IngestionSettings
from services.runtime import gc_tuning

_DOMAIN = "services.ingestion.domain"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def old_book(checkout: Path) -> ModuleType:
    """The older checkout's ``book`` module, importing its own allocation and ledger events."""
    domain = checkout / "services" / "ingestion" / "domain"
    modules = {
        name: _load(f"old_{name}", domain / f"{name}.py")
        for name in ("allocation", "ledger_events")
    }
    package = sys.modules[_DOMAIN]
    saved = {name: sys.modules[f"{_DOMAIN}.{name}"] for name in modules}
    saved_attribute = getattr(package, "ledger_events")  # noqa: B009 (a module's attribute)
    try:
        # book.py imports these by their names: let it find the old ones while it loads
        for name, module in modules.items():
            sys.modules[f"{_DOMAIN}.{name}"] = module
        setattr(package, "ledger_events", modules["ledger_events"])  # noqa: B010
        book = _load("old_book", domain / "book.py")
    finally:
        sys.modules.update({f"{_DOMAIN}.{name}": module for name, module in saved.items()})
        setattr(package, "ledger_events", saved_attribute)  # noqa: B010
    return book


def one_round(
    books: dict[str, Any], records: Sequence[tuple[Topic, bytes]], batch: int, first: int
) -> tuple[dict[str, float], dict[str, list[tuple[Any, ...]]], dict[str, ingestion_apply.Ledger]]:
    """Both codes over the mix, batch by batch, each batch applied by one then the other.

    Returns per code the apply CPU seconds, the records emitted (as tuples) and the ledger.
    Which code goes first alternates from batch to batch (starting with ``first``), so that
    both see the same moments of the host and heaps of the same size.
    """
    labels = list(books)
    ledgers = {label: ingestion_apply.Ledger() for label in labels}
    apply_s = dict.fromkeys(labels, 0.0)
    emitted: dict[str, list[tuple[Any, ...]]] = {label: [] for label in labels}
    for n, start in enumerate(range(0, len(records), batch)):
        events = [topic.parse(value) for topic, value in records[start : start + batch]]
        order = labels if (n + first) % 2 == 0 else labels[::-1]
        for label in order:
            # the Ledger builds its books with this class
            setattr(ingestion_apply, "Book", books[label])  # noqa: B010
            book = ledgers[label].load(events)
            t0 = time.process_time()
            book.apply_all(events)
            apply_s[label] += time.process_time() - t0
            emitted[label].extend(
                (r.topic, r.key, r.value, tuple(r.headers), str(r.event_id)) for r in book.emitted
            )
            if book.rejected or book.parked:
                raise SystemExit(f"{label}: events rejected or parked")
            ledgers[label].save(book)
    return apply_s, emitted, ledgers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--payments-first",
        action="store_true",
        help="apply every other event before the invoices, as end to end, where the payments' "
        "topic runs ahead of the invoices': payments become credit, invoices are paid from it",
    )
    args = parser.parse_args()
    books = {"new": current_book.Book, "old": old_book(args.old).Book}
    mix = erp_mix(args.events)
    expected = expected_balances(mix)
    if args.payments_first:
        mix = [m for m in mix if m[0] is not ERP_INVOICES] + [
            m for m in mix if m[0] is ERP_INVOICES
        ]
    records = [(topic, topic.value(event)) for topic, event in mix]
    del mix
    gc_tuning.tune(IngestionSettings().gc_gen0_threshold)  # as the service
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s", flush=True)
    apply_us: dict[str, list[float]] = {label: [] for label in books}
    emitted: dict[str, list[tuple[Any, ...]]] = {}
    failures: list[str] = []
    for n in range(args.rounds):
        apply_s, out, ledgers = one_round(books, records, args.batch, n)
        for label in books:
            apply_us[label].append(apply_s[label] / args.events * 1e6)
            failures += [f"{label}: {line}" for line in reconcile(expected, ledgers[label].owed())]
            if emitted.setdefault(label, out[label]) != out[label]:
                failures.append(f"{label}: its ledger events differ from round to round")
        print(
            f"round {n + 1}: "
            + ", ".join(f"{label} {apply_us[label][-1]:.1f}" for label in books)
            + " µs/event",
            flush=True,
        )
        del out, ledgers
    if emitted["new"] != emitted["old"]:
        failures.append("the two codes emit different ledger events")
    print(f"pydantic_validate now: {measure_pydantic(50_000)[0].value:,.0f}/s")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for label, values in apply_us.items():
        print(
            f"{label}: best {min(values):.1f}, median {statistics.median(values):.1f} µs "
            f"per ERP event over {len(values)} rounds"
        )
    if len(apply_us) == 2:
        # the rounds are paired (both codes on the same batches, alternately): their
        # differences resolve less than the spread of either code's figures
        first, second = apply_us.values()
        differences = [a - b for a, b in zip(first, second, strict=True)]
        print(
            f"{' - '.join(apply_us)} per round: "
            + ", ".join(f"{d:+.1f}" for d in differences)
            + f"; median {statistics.median(differences):+.1f} µs per ERP event"
        )
    if failures:
        print(f"FAILED ({len(failures)}):", file=sys.stderr)
        for line in failures[:20]:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(
        f"the same {len(emitted['new']):,} ledger events, byte for byte; "
        f"both reconciled to the cent over {len(expected)} balances"
    )


if __name__ == "__main__":
    main()
