"""Garbage-collector settings for long-running services that handle large batches.

CPython's cyclic collector runs its youngest generation every 700 net allocations and a
full collection every hundred of those, each walking every tracked object. A service
applying thousands of events per batch allocates millions of short-lived objects (parsed
events, rows, ledger events), almost none of them in reference cycles, while holding a
large, stable set of long-lived ones (modules, pydantic schemas, the FastStream and
aiokafka machinery). Measured on ingestion's domain step, the collector took about a third
of the time (``bench.ingestion``; ``docs/ingestion.md``).

:func:`tune` does what large Python services commonly do: once start-up is over it moves
every object alive into the permanent generation (:func:`gc.freeze`), so that full
collections stop walking them, and raises the youngest generation's threshold so that
collections run per batch-sized amount of allocation rather than per few hundred objects.
Reference counting still frees acyclic garbage at once; cycles are still collected, only
less often, which costs a little memory (bounded by the thresholds), not correctness.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune(
    gen0: int = GEN0_THRESHOLD, gen1: int = GEN1_THRESHOLD, gen2: int = GEN2_THRESHOLD
) -> None:
    """Freeze what start-up left alive and raise the collection thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0, gen1, gen2)
