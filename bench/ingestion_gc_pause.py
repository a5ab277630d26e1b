"""Ingestion's batch in memory with the collector paused over it or not, in one process.

Run with ``python -m bench.ingestion_gc_pause [--events N] [--batch N] [--rounds N]``. It
generates ``bench.ingestion``'s mix and serialises it as the ERP topics carry it, sets the
collector as the service does (``gc_tuning.tune`` with ingestion's threshold), then, batch
by batch, parses the records with their topics' unions, loads a :class:`Book` from an
in-memory ledger (``bench.ingestion_apply``), applies the batch and writes it back. Every
batch runs one way then the other (which first alternating from batch to batch), each
with its own ledger: as the service did before (the collector running at its threshold)
and under :func:`gc_tuning.paused` (as ``BatchProcessor`` with ``gc_paused``). Each is
timed in process CPU time from the parse to the batch's objects freed, plus the first
allocation after, which runs the collection a pause put off; parsing is also timed alone.

It prints per round and per way the µs per ERP event (parse, and the whole batch), the
collections of each generation, the load average and a pydantic figure before and after,
and checks that both ledgers reconcile with the generator to the cent.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import time
from collections.abc import Sequence

from bench.ingestion import erp_mix, expected_balances, reconcile
from bench.ingestion_apply import Ledger, exit_unless_reconciled
from bench.limits import print_host
from contracts.topics import Topic
from services.ingestion.settings import IngestionSettings
from services.runtime import gc_tuning

WAYS = ("running", "paused")


def one_batch(
    chunk: Sequence[tuple[Topic, bytes]], ledger: Ledger, paused: bool
) -> tuple[float, float]:
    """(parse CPU s, whole batch CPU s) of one batch, its objects freed."""
    t0 = time.process_time()
    with gc_tuning.paused() if paused else contextlib.nullcontext():
        events = [topic.parse(value) for topic, value in chunk]
        t1 = time.process_time()
        book = ledger.load(events)
        book.apply_all(events)
        if book.rejected or book.parked:
            raise SystemExit("events rejected or parked")
        ledger.save(book)
        del events, book
    _ = [[]]  # the first allocation after: the collection a pause put off, if due
    return t1 - t0, time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--only",
        choices=WAYS,
        help="one way alone (each way's survivors are young objects the other's collections "
        "walk: in one process the running way pays for some of the paused way's)",
    )
    args = parser.parse_args()
    ways = (args.only,) if args.only else WAYS
    mix = erp_mix(args.events)
    expected = expected_balances(mix)
    records = [(topic, topic.value(event)) for topic, event in mix]
    del mix
    gc_tuning.tune(IngestionSettings().gc_gen0_threshold)  # as the service does at start
    print_host("before")
    parse_us: dict[str, list[float]] = {w: [] for w in ways}
    batch_us: dict[str, list[float]] = {w: [] for w in ways}
    failures: list[str] = []
    for n in range(args.rounds):
        ledgers = {w: Ledger() for w in ways}
        parse_s = dict.fromkeys(ways, 0.0)
        batch_s = dict.fromkeys(ways, 0.0)
        collections = {way: [0, 0, 0] for way in ways}
        for b, start in enumerate(range(0, len(records), args.batch)):
            chunk = records[start : start + args.batch]
            for way in ways if (b + n) % 2 == 0 else ways[::-1]:
                before = [s["collections"] for s in gc.get_stats()]
                p, t = one_batch(chunk, ledgers[way], way == "paused")
                after = [s["collections"] for s in gc.get_stats()]
                collections[way] = [
                    c + a - s for c, a, s in zip(collections[way], after, before, strict=True)
                ]
                parse_s[way] += p
                batch_s[way] += t
        for way in ways:
            parse_us[way].append(parse_s[way] / args.events * 1e6)
            batch_us[way].append(batch_s[way] / args.events * 1e6)
            failures += [f"{way}: {line}" for line in reconcile(expected, ledgers[way].owed())]
        print(
            f"round {n + 1}: "
            + ", ".join(
                f"{w} parse {parse_us[w][-1]:.1f} batch {batch_us[w][-1]:.1f} µs/event "
                f"(collections {'/'.join(map(str, collections[w]))})"
                for w in ways
            ),
            flush=True,
        )
    print_host("after")
    for name, figures in (("parse", parse_us), ("batch", batch_us)):
        if args.only:
            values = figures[args.only]
            print(f"{name}: {args.only} median {statistics.median(values):.1f} µs per ERP event")
            continue
        differences = [p - r for p, r in zip(figures["paused"], figures["running"], strict=True)]
        print(
            f"{name}: running median {statistics.median(figures['running']):.1f}, paused "
            f"median {statistics.median(figures['paused']):.1f} µs per ERP event; paused - "
            f"running per round: {', '.join(f'{d:+.1f}' for d in differences)}"
        )
    exit_unless_reconciled(
        failures,
        f"both ledgers reconciled with the generator to the cent: {len(expected)} balances",
    )


if __name__ == "__main__":
    main()
