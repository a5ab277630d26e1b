"""A call of the collector's own, logged from the customer page: the contact called and the
invoices discussed, checked as pure values; its executed command worded on the timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

from contracts import dunning
from services.console import queries
from services.console.domain.calls import CallSubject, Discussable, PhoneContact, subject_of
from services.console.domain.commands import FormProblem
from services.console.domain.timeline import entry_of
from services.console.projection import statements_for

BILLING = PhoneContact("+33142000000", "billing", "Claire Martin")
OWNER = PhoneContact("+33600000000", "owner")
INV1 = Discussable("FR01/INV-1", "INV-1", "EUR", Decimal(700), "overdue")
INV2 = Discussable("FR01/INV-2", "INV-2", "EUR", Decimal(800), "disputed")
INV3 = Discussable("FR01/INV-3", "INV-3", "EUR", Decimal(500), "due")
INV4 = Discussable("FR01/INV-4", "INV-4", "USD", Decimal(300), "promised")
OPEN = [INV1, INV2, INV3, INV4]


def subject(
    form: dict[str, str], chosen: list[str] | None = None
) -> tuple[CallSubject, list[FormProblem]]:
    return subject_of(form, chosen or [], contacts=[BILLING, OWNER], open_invoices=OPEN)


def test_the_contact_called_is_one_of_the_customer_s_phone_contacts() -> None:
    called, problems = subject({"contact": "+33600000000", "outcome": "answered"})
    assert problems == []
    assert called.contact == OWNER
    assert BILLING.label == "billing · Claire Martin · +33142000000"
    assert subject({"outcome": "answered"})[1] == [FormProblem("contact", "missing")]
    assert subject({"contact": "+4912345", "outcome": "answered"})[1] == [
        FormProblem("contact", "invalid")
    ]
    # a customer without a phone number on file: nobody to name
    alone, problems = subject_of({"outcome": "no_answer"}, [], contacts=[], open_invoices=OPEN)
    assert (alone.contact, problems) == (None, [])


def test_all_open_invoices_or_those_chosen_among_them() -> None:
    every, problems = subject({"contact": BILLING.phone, "outcome": "answered"})
    assert (every.all_open, every.invoice_ids, problems) == (
        True,
        ("FR01/INV-1", "FR01/INV-2", "FR01/INV-3", "FR01/INV-4"),
        [],
    )
    assert every.currency == "EUR"  # the largest open invoice's
    form = {"contact": BILLING.phone, "outcome": "answered", "invoices": "chosen"}
    chosen, problems = subject(form, ["FR01/INV-4", "FR01/INV-4"])
    assert (chosen.all_open, chosen.numbers, chosen.currency, problems) == (
        False,
        ("INV-4",),
        "USD",
        [],
    )
    assert subject(form, [])[1] == [FormProblem("invoice_id", "missing")]
    # another customer's invoice, or one no longer open: refused, nothing discussed
    foreign, problems = subject(form, ["FR01/INV-1", "DE02/INV-D1"])
    assert (foreign.invoice_ids, problems) == ((), [FormProblem("invoice_id", "invalid")])
    assert subject({**form, "invoices": "some"})[1] == [FormProblem("invoices", "invalid")]


def test_a_promise_covers_free_invoices_of_one_currency() -> None:
    promise = {"contact": BILLING.phone, "outcome": "promise_to_pay"}
    assert subject(promise)[1] == [FormProblem("invoice_id", "mixed_currencies")]
    chosen = {**promise, "invoices": "chosen"}
    assert subject(chosen, ["FR01/INV-1", "FR01/INV-2"])[1] == [FormProblem("invoice_id", "held")]
    free, problems = subject(chosen, ["FR01/INV-1", "FR01/INV-3"])
    assert (free.invoice_ids, free.currency, problems) == (
        ("FR01/INV-1", "FR01/INV-3"),
        "EUR",
        [],
    )
    # a dispute may name a disputed invoice again, and needs an open one
    assert subject({**chosen, "outcome": "dispute_raised"}, ["FR01/INV-2"])[1] == []
    nothing, problems = subject_of({"outcome": "promise_to_pay"}, [], contacts=[], open_invoices=[])
    assert (nothing.invoice_ids, problems) == ((), [FormProblem("invoice_id", "missing")])


def test_an_executed_call_is_worded_with_its_outcome_and_promise() -> None:
    command_id = uuid4()
    at = datetime(2026, 3, 16, 10, tzinfo=UTC)
    executed = dunning.CommandExecuted(
        event_id=uuid4(),
        occurred_at=at,
        source="scheduler",
        payload=dunning.ExecutedCommand(
            command_id=command_id,
            command="log_call",
            customer_id="C-1001",
            company_code="FR01",
            actor_subject="local:camille",
            actor_role="collector",
            requested_at=at,
            executed_at=at,
            detail={
                "outcome": "promise_to_pay",
                "invoices": "2",
                "promised_date": date(2026, 3, 27).isoformat(),
                "promised_amount": "1200.00",
                "currency": "EUR",
            },
        ),
    )
    entry = entry_of(executed)
    assert entry is not None
    assert (entry.kind, entry.facts) == (
        "command.log_call",
        {
            "by": "camille",
            "outcome": "promise_to_pay",
            "promised_date": "2026-03-27",
            "promised": {"amount": "1200.00", "currency": "EUR"},
        },
    )
    # the note, the contact and the invoices come from the console's own record of it
    *_, (sql, args) = statements_for(executed)
    assert sql == queries.ADD_LOGGED_CALL_ENTRY
    assert args[-1] == command_id
