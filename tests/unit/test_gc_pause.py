"""The collector paused over a batch (gc_tuning.paused, BatchProcessor.gc_paused)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from contracts.topics import ERP_INVOICES
from services.runtime import gc_tuning
from services.runtime.clock import SimulatedClock
from services.runtime.consumer import BatchOutcome, BatchProcessor
from services.runtime.dead_letter import IncomingRecord


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    assert gc.isenabled()


def test_paused_then_enabled_however_the_block_ends() -> None:
    with gc_tuning.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    seen: list[bool] = []

    def failing() -> None:
        with gc_tuning.paused():
            seen.append(gc.isenabled())
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        failing()
    assert seen == [False]
    assert gc.isenabled()


def test_interleaved_pauses_enable_once_the_last_one_ends() -> None:
    first, second = gc_tuning.paused(), gc_tuning.paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to begin ends first
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_tuning.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Failing(BatchProcessor):
    """A processor whose batch fails (or waits until cancelled) after checking the collector."""

    seen_enabled: list[bool]
    started: asyncio.Event
    error: BaseException | None

    async def _process_once(self, records: Sequence[IncomingRecord]) -> BatchOutcome:
        self.seen_enabled.append(gc.isenabled())
        self.started.set()
        if self.error is not None:
            raise self.error
        await asyncio.Event().wait()  # until cancelled
        raise AssertionError("not reached")


def _processor(error: BaseException | None, *, paused: bool = True) -> _Failing:
    async def handler(*_: object) -> None:
        return None

    processor = _Failing(
        service="gc-pause",
        topics=(ERP_INVOICES,),
        handler=handler,
        pool=None,  # type: ignore[arg-type]  # the batch never reaches the database
        clock=SimulatedClock(datetime(2026, 3, 2, tzinfo=UTC)),
        gc_paused=paused,
    )
    processor.seen_enabled = []
    processor.error = error
    return processor


def test_the_collector_runs_again_after_a_batch_that_raises() -> None:
    async def run() -> _Failing:
        processor = _processor(ValueError("a bug"))
        processor.started = asyncio.Event()
        with pytest.raises(ValueError, match="a bug"):
            await processor.process([])
        return processor

    processor = asyncio.run(run())
    assert processor.seen_enabled == [False]  # paused during the batch
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_cancelled_batch() -> None:
    async def run() -> _Failing:
        processor = _processor(None)
        processor.started = asyncio.Event()
        task = asyncio.create_task(processor.process([]))
        await processor.started.wait()
        assert not gc.isenabled()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return processor

    processor = asyncio.run(run())
    assert processor.seen_enabled == [False]
    assert gc.isenabled()


def test_without_gc_paused_the_collector_keeps_running() -> None:
    async def run() -> _Failing:
        processor = _processor(ValueError("a bug"), paused=False)
        processor.started = asyncio.Event()
        with pytest.raises(ValueError, match="a bug"):
            await processor.process([])
        return processor

    assert asyncio.run(run()).seen_enabled == [True]
