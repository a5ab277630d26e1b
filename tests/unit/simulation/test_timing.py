"""The demo's own accounting of its time: CPU per process, phases, the quiescence's waits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from simulation.cluster import Observation, Quiescence
from simulation.timing import CpuSampler, Timings, process_cpu_s, share, with_children


def test_the_cpu_of_a_live_process_is_read_and_a_gone_one_keeps_its_last_sample() -> None:
    busy = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.process_time() + 0.3\n"
            "while time.process_time() < end: pass\ntime.sleep(30)",
        ]
    )
    try:
        sampler = CpuSampler()
        deadline = time.monotonic() + 20
        while sampler.total("services") < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
            sampler.sample("services", [busy.pid])
        assert sampler.total("services") >= 0.25
    finally:
        busy.kill()
        busy.wait()
    assert process_cpu_s(busy.pid) is None  # gone: nothing to read
    sampler.sample("services", [busy.pid])
    assert sampler.total("services") >= 0.25  # what it used until its last sample
    assert sampler.total("kafka") == 0
    own = process_cpu_s(os.getpid())
    assert own is not None
    assert own > 0


def test_phases_add_up_in_order() -> None:
    timings = Timings()
    time.sleep(0.02)
    first = timings.lap("generation")
    timings.lap("services started")
    timings.lap("generation")  # a phase played twice adds up
    assert first >= 0.02
    assert list(timings.phases) == ["generation", "services started"]
    assert timings.phases["generation"] >= first
    assert share(1, 4) == "25%"
    assert share(1, 0) == "-"


class Scripted(Quiescence):
    """The waiting logic on a scripted series of observations (no servers)."""

    def __init__(self, script: list[Observation]) -> None:
        super().__init__("127.0.0.1:1", "postgresql://x", poll_s=0.01)
        self.script = script
        self.asked = 0

    async def observe(self, now: datetime) -> Observation:
        self.asked += 1
        return self.script.pop(0)


def seen(offsets: int, *, busy: bool = False) -> Observation:
    return Observation({"g": 1 if busy else 0}, {}, 0, 0, offsets)


def test_quiet_twice_with_the_same_offsets_and_the_waits_are_counted() -> None:
    script = [seen(5, busy=True), seen(6), seen(7), seen(7), seen(99)]
    quiescence = Scripted(script)
    found = asyncio.run(quiescence.wait(datetime.now(UTC), timeout_s=5))
    assert found.end_offsets == 7
    assert quiescence.asked == 4  # published between the quiet ones: not yet quiet
    stats = quiescence.stats
    assert (stats.waits, stats.observations) == (1, 4)
    assert stats.sleeping_s >= 0.01  # the poll after the busy observation, at least
    assert stats.confirming_s > 0
    assert stats.total_s >= stats.observing_s + stats.sleeping_s


def test_a_service_counts_with_its_children_and_a_group_with_its_subgroups() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert with_children([parent.pid]) == [parent.pid, child]
        sampler = CpuSampler()
        sampler.sample("services/notifier", with_children([parent.pid]))
        sampler.sample("services/portal", [os.getpid()])
        assert sampler.total("services") == sampler.total("services/notifier") + sampler.total(
            "services/portal"
        )
        assert sampler.total("services/portal") > 0
    finally:
        os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()
        parent.stdout.close()
