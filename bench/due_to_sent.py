"""Due to sent: how long a reminder the scheduler decided takes to reach the mail server.

Run with ``python -m bench.due_to_sent [--rate R] [--seconds S] [--email-rate M]
[--erp-rate E]``. It starts the notifier (and ingestion, which records the customers) in
this process on real Kafka and PostgreSQL (``bench.pipeline``), then publishes
``dunning.reminder.due`` events on the actions topic R a second for S seconds, as the
scheduler's outbox relay does, each a first firm email about one invoice with its PDF
statement, to customers the notifier already knows. By default R is the email channel's
rate limit M (the service's ``CHANNEL_RATES_PER_S``): the notifier's rated throughput. It
measures, for each reminder, the time from its publication (handed to the Kafka producer)
to the SMTP server on loopback accepting the message (its final ``250`` to ``DATA``): the
notifier's consumer batch and transaction, the dispatcher's wake-up by the new delivery's
``NOTIFY`` (else its poll: it sleeps ``DISPATCH_INTERVAL_S``, 1 s, when nothing is due),
the rate limiter's slot, the claim,
composing with the PDF, the final check and SMTP. ``--erp-rate`` adds a background
stream of ERP events through ingestion (none by default).

It prints the load average before and after, ``bench.limits``' pydantic figure measured in
the same run, the CPU of its own processes (this one and its database's PostgreSQL
backends, by pid), p50/p99/max of the latency and the rate achieved. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

from bench.pipeline import (
    Stack,
    background_erp,
    erp_background,
    erp_customer,
    reminder_due,
    run_between_host_figures,
    spread,
)
from contracts.topics import ERP_CUSTOMERS
from services.notifier.settings import NotifierSettings

RATED = NotifierSettings().channel_rates_per_s.get("email", 20.0)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.due_to_sent", description=__doc__)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="reminders a second (default: --email-rate)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to publish")
    parser.add_argument(
        "--email-rate",
        type=float,
        default=RATED,
        help="the email channel's rate limit (the service's default; 0: none)",
    )
    parser.add_argument("--erp-rate", type=float, default=0.0, help="background ERP events/s")
    parser.add_argument("--pydantic-events", type=int, default=50_000)
    parser.add_argument("--drain-timeout-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not args.rate:
        args.rate = args.email_rate or RATED
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    return args


async def run(args: argparse.Namespace, bootstrap: str, database_url: str) -> dict[str, float]:
    count = max(1, round(args.rate * args.seconds))
    async with Stack(bootstrap, database_url, args.email_rate) as stack:
        print(f"recording {count} customers...", flush=True)
        await asyncio.gather(
            *[await stack.publish_erp(ERP_CUSTOMERS, erp_customer(n)) for n in range(count)]
        )
        await stack.customers_ready(count, invoices=False)
        background = erp_background(stack, int(args.erp_rate * (args.seconds + 150)))
        stop = asyncio.Event()
        await stack.cpu.start()
        load = asyncio.create_task(background_erp(stack, background, args.erp_rate, stop))
        print(f"publishing {count} reminders, {args.rate:g}/s...", flush=True)
        published: dict[str, float] = {}
        started = time.perf_counter()
        acks = []
        for n in range(count):
            event = reminder_due(n)
            published[str(event.payload.reminder_id)] = time.perf_counter()
            acks.append(await stack.publish_reminder(event))
            await asyncio.sleep(max(0.0, started + (n + 1) / args.rate - time.perf_counter()))
        await asyncio.gather(*acks)
        deadline = time.monotonic() + args.drain_timeout_s
        while time.monotonic() < deadline:
            stack.check()
            done = await stack.notifier_pool.fetchval(
                "SELECT count(*) FROM deliveries WHERE status IN ('sent', 'failed', 'suppressed')"
            )
            if done >= count:
                break
            await asyncio.sleep(0.2)
        stop.set()
        erp_sent = await load
        cpu = await stack.cpu.stop()
        rows = await stack.notifier_pool.fetch(
            "SELECT reminder_id, status, message_id FROM deliveries"
        )
    accepted = stack.smtp.accepted_at
    latencies = [
        (accepted[r["message_id"]] - published[str(r["reminder_id"])]) * 1000
        for r in rows
        if r["message_id"] in accepted
    ]
    last = max((accepted[r["message_id"]] for r in rows if r["message_id"] in accepted), default=0)
    statuses = [r["status"] for r in rows]
    return {
        "reminders_published": float(count),
        "published_per_s": args.rate,
        "email_rate_limit_per_s": args.email_rate,
        **spread("due_to_sent", latencies),
        "sent": float(statuses.count("sent")),
        "failed": float(statuses.count("failed")),
        "not_done": float(count - len(latencies)),
        "sent_per_s": len(latencies) / (last - started) if latencies else 0.0,
        "erp_background_events": float(erp_sent),
        **cpu,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    figures = run_between_host_figures(
        lambda bootstrap, database_url: run(args, bootstrap, database_url), args.pydantic_events
    )
    if figures["sent_per_s"] < 0.95 * args.rate:
        print(
            f"the notifier did not keep up: {figures['sent_per_s']:.1f} emails/s sent for "
            f"{args.rate:g}/s published, so these figures are mostly time spent in the queue"
        )


if __name__ == "__main__":
    main()
