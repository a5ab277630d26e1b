"""Where the demo's time goes: wall time per phase, waiting, and the CPU of its processes.

The host is often shared, so the wall time alone says little: the demo also counts the CPU
its own processes used (the controller, each service process, the PostgreSQL backends of
its database, its Kafka broker), which does not depend on what else runs, and the time the
controller spent waiting while nothing was left to do (the clock barriers, and the
confirmation of each quiescence after its first quiet observation), its idle waiting.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float | None:
    """User and system CPU seconds of a live process (``/proc/<pid>/stat``), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def with_children(pids: Iterable[int]) -> list[int]:
    """The processes and their live children (the notifier's composing processes)."""
    found = []
    for pid in pids:
        found.append(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found.extend(int(child) for child in children)
    return found


def own_cpu_s() -> float:
    """This process's CPU seconds, and its children's that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class WaitStats:
    """What the waits for quiescence cost the controller."""

    waits: int = 0
    observations: int = 0
    observing_s: float = 0.0  # asking PostgreSQL and Kafka
    sleeping_s: float = 0.0  # between two observations
    confirming_s: float = 0.0  # from the first quiet observation to the confirming one
    total_s: float = 0.0


@dataclass
class CpuSampler:
    """CPU seconds per process, sampled now and then: the highest value seen for each pid,
    so that a process gone since (a restarted service, a closed PostgreSQL connection)
    still counts with what it used until its last sample."""

    seen: dict[tuple[str, int], float] = field(default_factory=dict)

    def sample(self, group: str, pids: Iterable[int]) -> None:
        for pid in pids:
            cpu = process_cpu_s(pid)
            if cpu is not None:
                key = (group, pid)
                self.seen[key] = max(cpu, self.seen.get(key, 0.0))

    def total(self, group: str) -> float:
        """The CPU seconds of ``group`` and of its subgroups (``services/notifier``)."""
        return sum(v for (g, _), v in self.seen.items() if g == group or g.startswith(group + "/"))


@dataclass
class Timings:
    """The demo's wall time per phase, in order, and what it needs to report its CPU."""

    began: float = field(default_factory=time.monotonic)
    load_at_start: str = field(default_factory=load_average)
    phases: dict[str, float] = field(default_factory=dict)
    cpu: CpuSampler = field(default_factory=CpuSampler)
    _mark: float = field(default_factory=time.monotonic)

    def lap(self, phase: str) -> float:
        """Close ``phase`` (the time since the previous lap); return its seconds."""
        now = time.monotonic()
        seconds = now - self._mark
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds
        self._mark = now
        return seconds


def kafka_broker_pid() -> int | None:
    """The demo's broker, when ``scripts/demo`` names its pid file."""
    found = os.environ.get("RELANCE_DEMO_KAFKA_PID_FILE")
    if not found:
        return None
    try:
        return int(Path(found).read_text().strip())
    except (OSError, ValueError):
        return None


def share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole > 0 else "-"
