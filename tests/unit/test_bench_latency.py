"""The latency benchmarks' arguments, events and measuring kit. No Kafka, no timing."""

from __future__ import annotations

import os

import pytest

from bench import due_to_sent, pipeline, suppression
from contracts.topics import DUNNING_ACTIONS, ERP_PAYMENTS


def test_suppression_arguments_default_to_the_services_rate_and_refuse_nonsense() -> None:
    args = suppression.parse_args([])

    assert args.email_rate == 20.0  # the notifier's default CHANNEL_RATES_PER_S
    assert args.payments > 0
    assert args.payment_rate > 0
    assert suppression.parse_args(["--payments", "7", "--erp-rate", "0"]).payments == 7
    with pytest.raises(SystemExit):
        suppression.parse_args(["--payment-rate", "0"])


def test_due_to_sent_publishes_at_the_rate_limit_unless_told_otherwise() -> None:
    assert due_to_sent.parse_args([]).rate == due_to_sent.RATED
    assert due_to_sent.parse_args(["--email-rate", "40"]).rate == 40.0
    assert due_to_sent.parse_args(["--rate", "5", "--email-rate", "40"]).rate == 5.0
    with pytest.raises(SystemExit):
        due_to_sent.parse_args(["--seconds", "0"])


def test_a_payment_settles_exactly_the_invoice_its_reminder_names() -> None:
    payment = ERP_PAYMENTS.parse(ERP_PAYMENTS.value(pipeline.erp_payment(42)))
    reminder = DUNNING_ACTIONS.parse(DUNNING_ACTIONS.value(pipeline.reminder_due(42)))

    (named,) = reminder.payload.invoices
    (allocation,) = payment.payload.allocations
    assert allocation.invoice_number == named.invoice_number
    assert allocation.amount == payment.payload.amount.amount == named.open_amount.amount
    assert named.invoice_id == pipeline.invoice_id(42) == "FR01/L000042"
    assert payment.customer_id == reminder.customer_id == pipeline.customer_id(42)


def test_percentiles_and_cpu_by_pid() -> None:
    figures = pipeline.spread("x", [float(v) for v in range(1, 101)])

    assert figures == {"x_p50_ms": 51.0, "x_p99_ms": 100.0, "x_max_ms": 100.0, "x_count": 100.0}
    assert pipeline.spread("x", [])["x_count"] == 0.0
    mine = pipeline.cpu_s_of([os.getpid(), 2**22 + 1])  # the second pid cannot exist
    assert list(mine) == [os.getpid()]
    assert mine[os.getpid()] > 0
