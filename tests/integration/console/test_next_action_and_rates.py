"""The open items' next action, payments at their value dates and a contract's interest
rate, through the console's read model on PostgreSQL (events applied by the kit's batch
processor, as the consumer applies them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from contracts import dunning, ledger
from contracts.money import Money
from contracts.topics import DUNNING_ACTIONS, LEDGER_EVENTS
from services.console import read_model
from services.console.domain.interest import OpenInvoice, accrued_interest, reductions_of
from services.console.domain.next_action import NextAction
from services.runtime.late_payment import ReferenceRates, law_of
from tests.integration.console.conftest import feed
from tests.integration.console.story import TODAY, _customer, _invoice, at, money, uid

pytestmark = pytest.mark.integration


def _contract_invoice() -> ledger.InvoiceOpened:
    opened = _invoice("C-7", "FR01", "INV-71", date(2026, 1, 1), date(2026, 1, 31), "1000")
    return opened.model_copy(
        update={"payload": opened.payload.model_copy(update={"late_interest_rate": Decimal(15)})}
    )


def _state(next_step: dunning.NextStep | None, **changes: object) -> dunning.DunningStateChanged:
    values: dict[str, object] = {
        "customer_id": "C-7",
        "company_code": "FR01",
        "invoice_id": "FR01/INV-71",
        "scenario_id": "standard",
        "step_name": "friendly",
        "level": "level_1",
        "paused": False,
        "last_action_at": at(date(2026, 3, 5), 9),
        "next_action_at": at(date(2026, 3, 20), 9),
        "next_step": next_step,
    }
    values.update(changes)
    return dunning.DunningStateChanged(
        event_id=uid(f"state C-7 {len(changes)} {next_step}"),
        occurred_at=at(date(2026, 3, 5), 9),
        source="scheduler",
        payload=dunning.InvoiceDunningState.model_validate(values),
    )


async def test_next_action_value_dates_and_a_contract_rate(pool: asyncpg.Pool) -> None:
    paid = ledger.OpenAmountChanged(
        event_id=uid("payment INV-71"),
        occurred_at=at(date(2026, 3, 10)),
        source="ingestion",
        payload=ledger.OpenAmountChange(
            company_code="FR01",
            customer_id="C-7",
            invoice_id="FR01/INV-71",
            invoice_number="INV-71",
            previous_open_amount=Money(amount=Decimal(1000), currency="EUR"),
            open_amount=money("600"),
            cause="payment",
            cause_document_id="PAY-71",
            due_date=date(2026, 1, 31),
            amount=money("1000"),
            value_date=date(2026, 2, 15),
        ),
    )
    firm = dunning.NextStep(step_name="firm", level="level_2", channel="email")
    await feed(
        pool,
        [
            (LEDGER_EVENTS, _customer("C-7", "FR01", "Contrat SA", ())),
            (LEDGER_EVENTS, _contract_invoice()),
            (LEDGER_EVENTS, paid),
            (DUNNING_ACTIONS, _state(firm)),
        ],
    )
    (item,), _ = await read_model.open_items(pool, "C-7", TODAY)
    assert item.next_action == NextAction(
        "step", date(2026, 3, 20), step_name="firm", level="level_2", channel="email"
    )
    assert item.late_interest_rate == Decimal(15)

    history = await read_model.open_amount_history(pool, "C-7")
    assert history == [(date(2026, 2, 15), "INV-71", Decimal(1000), Decimal(600))]
    found = accrued_interest(
        [OpenInvoice("INV-71", item.due_date, "EUR", item.amount, item.open_amount, Decimal(15))],
        reductions_of(history),
        law_of("FR"),
        "business",
        ReferenceRates([]),  # a contract rate needs none
        TODAY,
    )
    # 14 days on 1,000, then 30 on 600 from the value date (15 February, announced on
    # 10 March), at 15%: 32,000 x 15% / 365 = 13.15
    assert found.per_invoice == {"INV-71": Decimal("13.15")}
    assert found.contract_rates == {"INV-71": Decimal(15)}

    # a hold replaces the next step; a version 1 event (no step) shows the day only
    until = at(date(2026, 3, 30), 0)
    held = _state(None, paused=True, pause_reason="hold", next_action_at=None, paused_until=until)
    await feed(pool, [(DUNNING_ACTIONS, held)])
    (item,), _ = await read_model.open_items(pool, "C-7", TODAY)
    assert item.next_action == NextAction("held", until=date(2026, 3, 30))
    older = _state(None, step_name="call").model_copy(update={"schema_version": 1})
    await feed(pool, [(DUNNING_ACTIONS, older)])
    (item,), _ = await read_model.open_items(pool, "C-7", TODAY)
    assert item.next_action == NextAction("dated", date(2026, 3, 20))
