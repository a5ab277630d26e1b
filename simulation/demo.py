"""The demo: a synthetic ERP history over 120 simulated days, all services as processes.

``relance demo`` (``python -m simulation``) expects a Kafka broker and a PostgreSQL server
it may use: it recreates Relance's topics on the broker and its own database
(``relance_demo`` by default). ``scripts/demo`` starts both on a fresh machine.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from simulation.generator import Size
from simulation.providers import COMPANIES_FILE
from simulation.run import (
    CONSOLE_KEY,
    CONSOLE_OPERATIONS_KEY,
    Options,
    Run,
    SuspensionPlan,
    end_of,
    history_digest,
    simulate,
    start_of,
)
from simulation.timing import Timings

# The people's doors the demo opens with --keep, on the demo's data (docs/console.md,
# docs/portal.md); the timed run never starts them.
FRONT_DOORS = ("console",)  # the portal already runs during the demo (the emails link to it)


def html_report_command() -> tuple[list[str], str] | None:
    """``relance report html`` and its help text when this installation has it, else None
    (the help says which options this version takes)."""
    relance = shutil.which("relance") or str(Path(sys.executable).with_name("relance"))
    command = [relance, "report", "html"]
    try:
        found = subprocess.run(  # noqa: S603 (our own relance executable)
            [*command, "--help"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if found.returncode != 0:
        return None
    return command, found.stdout


def write_html_report(run: Run, output: Path) -> str:
    found = html_report_command()
    if found is None:
        return "HTML report: `relance report html` is not available in this version; skipped."
    command, help_text = found
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


def console_environment(
    users_file: Path, notifier_url: str, scheduler_url: str | None = None
) -> dict[str, str]:
    """The console's own settings in the demo: the run's accounts and signing key, cookies
    over plain HTTP on the loopback, and the notifier that renders the proposals' previews,
    asked with the console's machine key of this run (which the notifier accepts: see
    :func:`simulation.run.machine_keys`), and the scheduler that answers the Operations page's
    campaign dry runs and library versions, with the console's other key of this run."""
    environment = {
        "RELANCE_AUTH_USERS_FILE": str(users_file),
        "RELANCE_AUTH_SIGNING_KEYS": f"demo:{secrets.token_urlsafe(32)}",
        # plain HTTP on the loopback: cookies without Secure (and without __Host-)
        "RELANCE_CONSOLE_SECURE_COOKIES": "false",
        "RELANCE_CONSOLE_NOTIFIER_URL": notifier_url,
        "RELANCE_CONSOLE_NOTIFIER_API_KEY": CONSOLE_KEY,
        # the demo group's companies: their countries' law gives the interest shown
        "RELANCE_CONSOLE_COMPANIES_FILE": str(COMPANIES_FILE),
    }
    if scheduler_url is not None:
        environment["RELANCE_CONSOLE_SCHEDULER_URL"] = scheduler_url
        environment["RELANCE_CONSOLE_SCHEDULER_API_KEY"] = CONSOLE_OPERATIONS_KEY
    return environment


async def open_front_doors(run: Run) -> list[str]:
    """Start the console and the portal on the demo's data; what to tell the person.

    Both build their read models from the topics' beginning, in the background after they
    are ready. The console gets two local accounts with passwords generated here (argon2
    hashes in a users file of the run's own): a collector whose portfolio is the invoicing
    company with the most overdue invoices, and a credit manager who sees everything. The
    portal gets a signing key of the run's own, and the links of the three customers of
    that company with the most overdue money. The portal is the run's own process (the
    interactive emails of the run link to it), signing with the run's key.
    """
    import secrets

    import yaml

    from services.runtime.clock import FileClock
    from services.runtime.identity import hash_password
    from services.runtime.signed_links import CustomerLinks, SignedLinkSettings
    from simulation.cluster import Quiescence, ServiceProcess, definition, service_environment
    from simulation.providers import free_port
    from simulation.run import LINK_KEY

    work = run.options.workdir.resolve()
    today = FileClock.read(run.clock_file).date()
    ledger = definition("ingestion").schema
    overdue = await run.fetch(
        "SELECT company_code, customer_id, sum(open_amount) AS overdue, min(currency) AS cur "
        f"FROM {ledger}.invoices WHERE status = 'open' AND due_date < $1 "
        "GROUP BY company_code, customer_id ORDER BY overdue DESC",
        today,
    )
    companies = [row["company_code"] for row in overdue]
    company = max(set(companies), key=companies.count) if companies else "FR01"

    passwords = {"camille": secrets.token_urlsafe(12), "dominique": secrets.token_urlsafe(12)}
    users = {
        "users": {
            "camille": {
                "name": "Camille Laurent",
                "role": "collector",
                "password_hash": hash_password(passwords["camille"]),
                "portfolio": {"company_codes": [company]},
            },
            "dominique": {
                "name": "Dominique Roy",
                "role": "credit_manager",
                "password_hash": hash_password(passwords["dominique"]),
            },
        }
    }
    users_file = work / "console-users.yaml"
    users_file.write_text(yaml.safe_dump(users, sort_keys=False), encoding="utf-8")
    users_file.chmod(0o600)

    ports = {service: free_port() for service in FRONT_DOORS}
    links_key = LINK_KEY
    portal_url = f"http://localhost:{run.processes['portal'].port}"
    notifier_url = f"http://127.0.0.1:{run.processes['notifier'].port}"
    scheduler_url = f"http://127.0.0.1:{run.processes['scheduler'].port}"
    own = {"console": console_environment(users_file, notifier_url, scheduler_url)}
    started = []
    for service in FRONT_DOORS:
        environment = service_environment(
            service,
            base=os.environ,
            bootstrap=run.options.bootstrap,
            database_url=run.database_url,
            clock_file=run.clock_file,
            port=ports[service],
            extra={},
        )
        environment.update(own[service])
        process = ServiceProcess(
            service, service, environment, work / "logs" / f"{service}.log", ports[service]
        )
        run.processes[service] = process
        started.append(process)
    await asyncio.gather(*(p.start() for p in started))
    await asyncio.gather(*(p.ready() for p in started))
    print("console started; reading the demo's events into its read model", flush=True)
    caught_up = Quiescence(run.options.bootstrap, run.database_url, services=FRONT_DOORS)
    await caught_up.start()
    try:
        await caught_up.wait(FileClock.read(run.clock_file), timeout_s=1800)
    finally:
        await caught_up.close()

    links = CustomerLinks(
        SignedLinkSettings(keys=(links_key,), base_url=portal_url), FileClock(run.clock_file)
    )
    samples = [row for row in overdue if row["company_code"] == company][:3]
    lines = [
        "",
        f"Console: http://localhost:{ports['console']}/",
        f"  camille   / {passwords['camille']}   collector, portfolio: company {company}",
        f"  dominique / {passwords['dominique']}   credit manager, every customer",
        f"  (passwords generated for this run; the users file is {users_file})",
        f"Portal: {portal_url}/portal/<link>; links of customers with overdue invoices:",
    ]
    lines += [
        f"  {row['customer_id']} ({row['overdue']:.2f} {row['cur']} overdue): "
        f"{links.url(row['customer_id'], row['company_code'])}"
        for row in samples
    ]
    return lines


async def demo(options: Options, *, keep: bool = False, timings: Timings | None = None) -> int:
    from simulation.summary import refresh_dso, summary_lines

    timings = timings or Timings()
    began = timings.began
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # stop the services on Ctrl-C and SIGTERM
        loop.add_signal_handler(sig, task.cancel)
    run = await simulate(options, timings)
    try:
        run.say(f"history fingerprint {history_digest(run.history)} (seed {options.seed})")
        run.say(f"simulating {options.size.days} days from {options.size.start}")
        await run.run()
        opened, clicked = await run.open_portal_links()
        run.say(
            f"customers clicking their interactive email's link: {opened} of {clicked} "
            "opened their account on the portal"
        )
        timings.lap("portal links")
        # the HTML report is written by its own process while this one reads the summary
        # (both mostly wait on PostgreSQL): the DSO table they both read refreshed first
        await refresh_dso(run, start_of(run.history), end_of(run.history))
        report = asyncio.create_task(
            asyncio.to_thread(write_html_report, run, options.workdir.resolve() / "report.html")
        )
        try:
            for line in await summary_lines(run, dso_refreshed=True):
                print(line)
        except BaseException:
            report.cancel()
            raise
        timings.lap("summary")
        print()
        print(await report)
        timings.lap("HTML report (after the summary)")
        print(
            f"Logs: {options.workdir.resolve() / 'logs'}; letters: "
            f"{options.workdir.resolve() / 'letters'}"
        )
        for line in await run.timing_lines():
            print(line)
        print(
            f"Demo wall time: {time.monotonic() - began:.0f} s "
            f"(generation {run.generation_s:.1f} s)",
            flush=True,
        )
        if keep:
            for line in await open_front_doors(run):
                print(line)
            print(
                "Left running (--keep): "
                + ", ".join(
                    f"{n} pid {p.process.pid if p.process else '?'} port {p.port}"
                    for n, p in run.processes.items()
                )
            )
            print(f"Database {run.database_url}; the clock file is {run.clock_file}")
            print("Ctrl-C stops the services.", flush=True)
            try:
                await asyncio.Event().wait()  # the providers live in this process: keep it
            finally:
                await run.stop()  # Ctrl-C: every service, the console and portal included
        return 0 if opened == clicked and not run.collector.problems else 1
    finally:
        if not keep:
            await run.stop()


# The company whose sending the demo suspends for a week (an entity migrating its ERP):
# the largest of the generated histories (France, Belgium, Switzerland).
SUSPENDED_COMPANY = "FR01"


# What the demo's processes need on a 2-core machine, over the run's settings (run.py):
# one process composing the emails with their PDF per notifier replica rather than one per
# core each (two replicas: two composing processes, not four, to import and keep idle);
# the disputes service's timers (owner reminders, promise deadlines, plan checks) looked at
# every 0.2 s rather than 0.1 s (they fall due when the clock moves, a few times a day).
DEMO_SETTINGS = {
    "RELANCE_NOTIFIER_COMPOSING_WORKERS": "1",
    "RELANCE_DISPUTES_TICK_INTERVAL_S": "0.2",
}


def suspension_for(size: Size) -> SuspensionPlan | None:
    """Suspend :data:`SUSPENDED_COMPANY` for a week from the first Monday after three fifths
    of the run, when its invoices are well under way (``relance scheduler suspend
    --company`` / ``resume``); none in a run too short to resume it three days before the
    end."""
    first = size.days * 3 // 5
    while (size.start + timedelta(days=first)).weekday() != 0:
        first += 1
    resume = first + 7
    if resume > size.days - 3:
        return None
    return SuspensionPlan(SUSPENDED_COMPANY, first, resume, reason="ERP migration (demo)")


def semi_automatic(options: Options) -> Options:
    """The demo's library (``simulation/semi_automatic.py``): the repository's, copied under
    the work directory, with the negligent scenario to confirm; the installation's own is
    left as it is. The templates are the shipped ones, whose emails mark their opening
    sentence as editable."""
    from services.scheduler.domain.library import DEFAULT_LIBRARY
    from simulation.semi_automatic import demo_library

    work = options.workdir.resolve()
    return replace(
        options,
        scenarios_path=demo_library(DEFAULT_LIBRARY, work / "scenarios"),
    )


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
    timings = Timings()
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
        # two notifier replicas, each dispatching in two lanes (its default): four lanes as
        # with four replicas of one, half the processes starting, importing and polling
        replicas={} if small else {"notifier": 2, "scheduler": 2},
        suspension=suspension_for(size),
        decide_proposals=True,
        settings=DEMO_SETTINGS,
    )
    options = semi_automatic(options)
    try:
        return asyncio.run(demo(options, keep=keep, timings=timings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("demo: interrupted; services stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
