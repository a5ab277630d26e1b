"""Payment to suppression: how soon a payment stops a reminder about the invoice it pays.

Run with ``python -m bench.suppression [--payments N] [--payment-rate R] [--erp-rate E]
[--email-rate M]``. It starts ingestion and the notifier in this process on real Kafka and
PostgreSQL (``bench.pipeline``): both busy, ingestion with a background stream of the
realistic ERP mix at E events/s, the notifier's dispatcher sending a queue of first
reminders, each with its PDF statement, to an SMTP server on loopback at the service's rate
limit M emails/s. While that queue drains it publishes, R a second, an ERP payment of the
whole of one invoice whose reminder is still waiting in the queue (``pending``), and
measures for each:

* **payment → suppression**: from the moment the payment is handed to the Kafka producer
  (its publication by the ERP) to the moment a reminder naming that invoice can no longer
  be sent. That moment is the commit of the notifier's consumer transaction that inserts
  the invoice into ``closed_invoices``, the table both the claim and the final check read
  (``queries.FINAL_CHECK``'s ``closed``): from then on no claim and no final check lets a
  reminder about the invoice through. It is observed through a trigger the bench adds to
  its own copy of the table, whose ``NOTIFY`` PostgreSQL delivers at that commit (so the
  figure is a few milliseconds late at most, never early). It covers the whole path: Kafka,
  ingestion's batch and transaction, its outbox and relay, Kafka again, the notifier's
  batch and transaction.
* **the race**: reminders about a paid invoice that the SMTP server still accepted after
  the payment was published, how long after, and how many of those were accepted after the
  settlement was visible (they passed the final check before the commit: the window
  ``bench.sendtime`` measures).

It prints the load average before and after, ``bench.limits``' pydantic figure measured in
the same run, and the CPU of its own processes (this one and its database's PostgreSQL
backends, by pid). The target is p99 < 1 s; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence

from bench.pipeline import (
    Stack,
    background_erp,
    customer_id,
    erp_background,
    erp_customer,
    erp_invoice,
    erp_payment,
    invoice_id,
    reminder_due,
    run_between_host_figures,
    spread,
)
from contracts.topics import ERP_CUSTOMERS, ERP_INVOICES, ERP_PAYMENTS
from services.notifier.settings import NotifierSettings

TARGET_P99_MS = 1000.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.suppression", description=__doc__)
    parser.add_argument("--payments", type=int, default=100, help="payments measured")
    parser.add_argument("--payment-rate", type=float, default=5.0, help="payments a second")
    parser.add_argument(
        "--erp-rate", type=float, default=500.0, help="background ERP events a second"
    )
    parser.add_argument(
        "--email-rate",
        type=float,
        default=NotifierSettings().channel_rates_per_s.get("email", 0.0),
        help="the email channel's rate limit (the service's default; 0: none)",
    )
    parser.add_argument(
        "--queue",
        type=int,
        default=0,
        help="reminders queued besides those paid (default: enough for the whole run)",
    )
    parser.add_argument("--pydantic-events", type=int, default=50_000)
    parser.add_argument("--settle-timeout-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.payments < 1 or args.payment_rate <= 0:
        parser.error("--payments and --payment-rate must be positive")
    return args


async def run(args: argparse.Namespace, bootstrap: str, database_url: str) -> dict[str, float]:
    duration = args.payments / args.payment_rate
    # The queue must outlast the payments: paid reminders are picked among those waiting.
    queue = args.queue or int(max(args.email_rate, 20.0) * (duration + 15))
    total = args.payments + queue
    rng = random.Random(3)
    async with Stack(bootstrap, database_url, args.email_rate) as stack:
        print(f"recording {total} customers and invoices...", flush=True)
        futures = []
        for n in range(total):
            futures.append(await stack.publish_erp(ERP_CUSTOMERS, erp_customer(n)))
            futures.append(await stack.publish_erp(ERP_INVOICES, erp_invoice(n)))
        await asyncio.gather(*futures)
        await stack.customers_ready(total, invoices=True)

        background = erp_background(stack, int(args.erp_rate * (duration + 120)))
        stop = asyncio.Event()
        await stack.cpu.start()
        load = asyncio.create_task(background_erp(stack, background, args.erp_rate, stop))
        load_started = time.perf_counter()
        order = list(range(total))
        rng.shuffle(order)
        print(f"queueing {total} reminders, ERP load {args.erp_rate:,.0f}/s...", flush=True)
        await asyncio.gather(*[await stack.publish_reminder(reminder_due(n)) for n in order])
        while await stack.notifier_pool.fetchval("SELECT count(*) FROM deliveries") < total:
            stack.check()
            await asyncio.sleep(0.1)

        published: dict[str, float] = {}
        acked: dict[str, float] = {}
        unpaid = [customer_id(n) for n in range(args.payments)]
        print(f"publishing {args.payments} payments, {args.payment_rate}/s...", flush=True)
        started = time.perf_counter()
        first_records, first_behind = await stack.ledger_backlog()
        for k in range(args.payments):
            stack.check()
            waiting = await stack.notifier_pool.fetch(
                "SELECT customer_id FROM deliveries WHERE status = 'pending'"
                " AND customer_id = ANY($1::text[])",
                unpaid,
            )
            if not waiting:
                print(f"no paid-to-be reminder left waiting after {k} payments", flush=True)
                break
            customer = rng.choice(waiting)["customer_id"]
            unpaid.remove(customer)
            n = int(customer[1:])
            payment = erp_payment(n)
            published[invoice_id(n)] = time.perf_counter()
            await (await stack.publish_erp(ERP_PAYMENTS, payment))
            acked[invoice_id(n)] = time.perf_counter()
            await asyncio.sleep(
                max(0.0, started + (k + 1) / args.payment_rate - time.perf_counter())
            )
        ledger_records, behind = await stack.ledger_backlog()
        payments_s = time.perf_counter() - started
        deadline = time.monotonic() + args.settle_timeout_s
        while any(i not in stack.closed_at for i in published) and time.monotonic() < deadline:
            stack.check()
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)  # sends already past the final check land meanwhile
        stop.set()
        erp_sent = await load
        load_s = time.perf_counter() - load_started
        cpu = await stack.cpu.stop()
        rows = await stack.notifier_pool.fetch(
            "SELECT customer_id, status, message_id, invoice_ids FROM deliveries"
        )
    accepted = stack.smtp.accepted_at
    latencies = [
        (stack.closed_at[i] - t) * 1000 for i, t in published.items() if i in stack.closed_at
    ]
    raced: list[float] = []
    slipped = 0
    paid_status: dict[str, int] = {}
    for row in rows:
        paid = [i for i in row["invoice_ids"] if i in published]
        if not paid:
            continue
        paid_status[row["status"]] = paid_status.get(row["status"], 0) + 1
        at = accepted.get(row["message_id"] or "")
        if at is not None and at > published[paid[0]]:
            raced.append((at - published[paid[0]]) * 1000)
            slipped += paid[0] in stack.closed_at and at > stack.closed_at[paid[0]]
    sent_during = sum(1 for r in rows if r["status"] == "sent")
    figures = {
        "payments_published": float(len(published)),
        **spread("payment_to_suppression", latencies),
        "not_suppressed_in_time": float(len(published) - len(latencies)),
        # the two halves: ERP -> ledger settlement committed by ingestion, then that commit
        # -> the notifier's (ingestion's outbox and relay, Kafka, the notifier's batch)
        **spread(
            "payment_to_ledger",
            [
                (stack.settled_at[i] - t) * 1000
                for i, t in published.items()
                if i in stack.settled_at
            ],
        ),
        **spread(
            "ledger_to_notifier",
            [
                (stack.closed_at[i] - stack.settled_at[i]) * 1000
                for i in published
                if i in stack.closed_at and i in stack.settled_at
            ],
        ),
        "publication_ack_p50_ms": sorted((acked[i] - published[i]) * 1000 for i in acked)[
            len(acked) // 2
        ]
        if acked
        else float("nan"),
        # paid reminders at the end: suppressed when claimed after the settlement, still
        # pending if the queue had not reached them (the claim will drop them), sent if they
        # went out before their payment was published or in the race below
        **{
            f"paid_reminders_{s}": float(paid_status.get(s, 0))
            for s in ("suppressed", "pending", "sent")
        },
        **spread("raced_sent_after_payment", raced),
        "raced_accepted_after_settlement_visible": float(slipped),
        # at the last payment: ledger events published so far (the payments' and the
        # background's) and how many the notifier's consumer had not yet committed
        "ledger_events": float(ledger_records),
        "notifier_ledger_backlog": float(behind),
        # ledger events reaching Kafka, and those the notifier's consumer committed, a
        # second, while the payments were published
        "ledger_events_in_per_s": (ledger_records - first_records) / payments_s,
        "notifier_ledger_done_per_s": ((ledger_records - behind) - (first_records - first_behind))
        / payments_s,
        "emails_sent": float(sent_during),
        "emails_per_s_while_measuring": sent_during / load_s,
        "erp_background_events": float(erp_sent),
        "erp_background_per_s": erp_sent / load_s,
        **cpu,
    }
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    figures = run_between_host_figures(
        lambda bootstrap, database_url: run(args, bootstrap, database_url), args.pydantic_events
    )
    p99 = figures["payment_to_suppression_p99_ms"]
    met = p99 < TARGET_P99_MS and figures["not_suppressed_in_time"] == 0
    print(f"target p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'} ({p99:,.0f} ms)")


if __name__ == "__main__":
    main()
