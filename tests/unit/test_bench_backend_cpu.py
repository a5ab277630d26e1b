"""The ingestion benchmark's watcher of the PostgreSQL backends' CPU: a window that cannot
read the group's offsets is skipped, and a watcher that stops early fails the run instead
of leaving a PostgreSQL figure short. No servers: the watcher's connection is a stand-in."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError

from bench.ingestion import BackendCpu


class _Connection:
    async def fetch(self, *_: Any) -> list[Any]:
        return []

    async def close(self) -> None:
        pass


class _Windows:
    """Fails its first look with the error Kafka gives while the group's coordinator moves."""

    seconds = 0.0

    def __init__(self) -> None:
        self.looks = 0
        self.noted = 0

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def note(self, _connection: Any, _cpu: Any) -> None:
        self.looks += 1
        if self.looks == 1:
            raise GroupCoordinatorNotAvailableError("coordinator moving")
        self.noted += 1


def test_a_window_whose_offsets_cannot_be_read_is_skipped_and_the_watch_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def connect(*_: Any, **__: Any) -> _Connection:
        return _Connection()

    monkeypatch.setattr(asyncpg, "connect", connect)
    windows = _Windows()
    watcher = BackendCpu("postgresql://unused", "app", interval_s=0.01, windows=windows)  # type: ignore[arg-type]
    watcher.start()
    deadline = time.monotonic() + 10
    while windows.noted < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watcher.stop() == 0.0
    assert windows.noted >= 2
    assert "window skipped: GroupCoordinatorNotAvailableError" in capsys.readouterr().out


def test_a_watcher_that_stopped_early_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def connect(*_: Any, **__: Any) -> _Connection:
        raise ConnectionRefusedError("no server")

    monkeypatch.setattr(asyncpg, "connect", connect)
    watcher = BackendCpu("postgresql://unused", "app", interval_s=0.01)
    watcher.start()
    with pytest.raises(RuntimeError, match="not watched to the end: ConnectionRefusedError"):
        watcher.stop()
