"""The demo: a synthetic ERP history over 120 simulated days, all services as processes.

``relance demo`` (``python -m simulation``) expects a Kafka broker and a PostgreSQL server
it may use: it recreates Relance's topics on the broker and its own database
(``relance_demo`` by default). ``scripts/demo`` starts both on a fresh machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from simulation.generator import Size
from simulation.run import Options, Run, history_digest, simulate


def html_report_command() -> list[str] | None:
    """``relance report html`` when this installation has it, else None."""
    relance = shutil.which("relance") or str(Path(sys.executable).with_name("relance"))
    try:
        found = subprocess.run(  # noqa: S603 (our own relance executable)
            [relance, "report", "html", "--help"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if found.returncode != 0:
        return None
    return [relance, "report", "html"]


def write_html_report(run: Run, output: Path) -> str:
    command = html_report_command()
    if command is None:
        return "HTML report: `relance report html` is not available in this version; skipped."
    help_text = subprocess.run(  # noqa: S603 (our own relance executable)
        [*command, "--help"], capture_output=True, text=True
    ).stdout
    args = list(command)
    for option in ("--out", "--output"):
        if option in help_text:
            args += [option, str(output)]
            break
    if "--as-of" in help_text:
        args += ["--as-of", str(run.history.day_of(run.history.size.days - 1))]
    if "--trend-days" in help_text:
        args += ["--trend-days", str(run.history.size.days)]
    env = {**os.environ, "DATABASE_URL": run.database_url}
    done = subprocess.run(  # noqa: S603 (our own relance executable)
        args, capture_output=True, text=True, env=env, timeout=300
    )
    if done.returncode != 0:
        return f"HTML report: `{' '.join(args)}` failed: {done.stderr.strip()[-500:]}"
    where = str(output) if output.exists() else done.stdout.strip()
    return f"HTML report: {where}"


async def demo(options: Options, *, keep: bool = False) -> int:
    from simulation.summary import summary_lines

    began = time.monotonic()
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop the services on Ctrl-C and SIGTERM
        loop.add_signal_handler(sig, task.cancel)
    run = await simulate(options)
    try:
        run.say(f"history fingerprint {history_digest(run.history)} (seed {options.seed})")
        run.say(f"simulating {options.size.days} days from {options.size.start}")
        await run.run()
        opened, clicked = await run.open_portal_links()
        run.say(
            f"customers clicking their interactive email's link: {opened} of {clicked} "
            "opened their account on the portal"
        )
        for line in await summary_lines(run):
            print(line)
        print()
        print(write_html_report(run, options.workdir.resolve() / "report.html"))
        print(
            f"Logs: {options.workdir.resolve() / 'logs'}; letters: "
            f"{options.workdir.resolve() / 'letters'}"
        )
        print(
            f"Demo wall time: {time.monotonic() - began:.0f} s "
            f"(generation {run.generation_s:.1f} s)"
        )
        if keep:
            print(
                "Left running (--keep): "
                + ", ".join(
                    f"{n} pid {p.process.pid if p.process else '?'} port {p.port}"
                    for n, p in run.processes.items()
                )
            )
            print(f"Database {run.database_url}; the clock file is {run.clock_file}")
            await asyncio.Event().wait()  # the providers live in this process: keep it
        return 0 if opened == clicked else 1
    finally:
        if not keep:
            await run.stop()


def main(
    *,
    small: bool = False,
    days: int | None = None,
    customers: int | None = None,
    invoices: int | None = None,
    seed: int = 42,
    keep: bool = False,
    workdir: Path = Path(".cache/demo"),
    database_name: str = "relance_demo",
) -> int:
    size = Size.small() if small else Size.demo()
    if days is not None:
        size = replace(size, days=days)
    if customers is not None:
        size = replace(size, customers=customers)
    if invoices is not None:
        size = replace(size, invoices=invoices)
    options = Options(
        size=size,
        seed=seed,
        workdir=workdir,
        bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        admin_database_url=os.environ.get(
            "DATABASE_URL", "postgresql://relance:relance@127.0.0.1:5433/relance"
        ),
        database_name=database_name,
        progress_every=1 if size.days <= 60 else 5,
        replicas={} if small else {"notifier": 4, "scheduler": 2},
    )
    try:
        return asyncio.run(demo(options, keep=keep))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("demo: interrupted; services stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
