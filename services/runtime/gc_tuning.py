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

import contextlib
import gc
from collections.abc import Iterator

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


_pauses = 0  # batches under way with the collector paused (one thread: the event loop's)
_resume = False  # whether the collector was enabled when the first of them began


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection until the block ends, nested or interleaved blocks included.

    For a batch whose objects all stay alive until it ends: each collection in between
    walks them and frees none of them. Once the block ends (and its objects are freed by
    their reference counts), the collector runs again as set by :func:`tune`: the count
    of allocations not freed meanwhile decides whether the collection put off runs.
    Cyclic garbage made meanwhile, by the batch or by the process's other tasks, waits for
    that collection. The collector is enabled again however the block ends (an exception,
    a task's cancellation), and only by the last of concurrent blocks to end, if it was
    enabled when the first began.

    Hand-written because it is two calls of the standard library's :mod:`gc` (``disable``,
    ``enable``) and a count: there is nothing to take from a library.
    """
    global _pauses, _resume
    if _pauses == 0:
        _resume = gc.isenabled()
        gc.disable()
    _pauses += 1
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0 and _resume:
            gc.enable()
