"""The ledger rules applied in memory, event by event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts import erp, ledger
from contracts.envelope import Event
from contracts.money import PositiveMoney
from contracts.topics import LEDGER_EVENTS
from services.ingestion.domain.book import (
    Book,
    CreditLots,
    add_credit,
    content_hash,
    invoice_hash,
    take_credit,
)
from tests.unit.ingestion.erp_events import (
    cancellation,
    credit_note,
    customer,
    invoice,
    payment,
    with_new_id,
)

D = Decimal


def emitted(book: Book) -> list[Event]:
    """The ledger events the book emitted, parsed as a consumer reads them."""
    return [LEDGER_EVENTS.parse(record.value) for record in book.emitted]


def types(book: Book) -> list[str]:
    return [e.event_type.removeprefix("ledger.") for e in emitted(book)]


def test_partial_then_full_payment_settles_alone() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100"), payment("P1", "40"), payment("P2", "60")])
    assert types(book) == ["invoice.opened", "invoice.open_amount_changed", "invoice.settled"]
    row = book.invoices[("FR01", "F1")]
    assert (row.open_amount, row.status) == (D("0"), "settled")
    settled = emitted(book)[-1]
    assert isinstance(settled, ledger.InvoiceSettled)
    assert settled.payload.previous_open_amount.amount == D("60")
    assert settled.payload.cause_document_id == "P2"


def test_the_invoices_a_batch_opens_are_told_apart_from_the_stored_ones_it_changes() -> None:
    stored = Book()
    stored.apply_all([invoice("F1", "100"), invoice("F2", "50")])
    assert stored.opened_invoices == {("FR01", "F1"), ("FR01", "F2")}
    book = Book(invoices={k: stored.invoices[k] for k in [("FR01", "F1"), ("FR01", "F2")]})
    book.apply_all(
        [
            payment("P1", "100", allocations=(("F1", "100"),)),
            invoice("F3", "70"),
            payment("P2", "30", allocations=(("F3", "30"),)),
        ]
    )
    # F1 settled, F3 opened then partly paid in the same batch: an insert, F1 an update
    assert book.changed_invoices == {("FR01", "F1"), ("FR01", "F3")}
    assert book.opened_invoices == {("FR01", "F3")}


def test_the_documents_a_batch_applies_first_are_told_apart_from_the_stored_ones() -> None:
    first = Book()
    first.apply_all([payment("P9", "40", allocations=(("F9", "40"),)), payment("P1", "10")])
    assert first.opened_documents == {("FR01", "payment", "P9"), ("FR01", "payment", "P1")}
    assert first.documents[("FR01", "payment", "P9")].status == "parked"
    later = Book(documents=dict(first.documents), parked=dict(first.parked))
    later.apply_all([invoice("F9", "100"), payment("P2", "5")])
    # P9 released (stored: an update of its status), P2 new (an insert)
    assert later.changed_documents == {("FR01", "payment", "P9"), ("FR01", "payment", "P2")}
    assert later.opened_documents == {("FR01", "payment", "P2")}


def test_overpayment_leaves_a_credit_balance() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100"), payment("P1", "130.5")])
    assert book.balances[("FR01", "C1", "EUR")] == D("30.5")
    assert types(book)[-2:] == ["invoice.settled", "customer.credit_balance_changed"]


def test_payment_in_another_currency_is_rejected_and_changes_nothing() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100")])
    book.apply(payment("P1", "100", currency="USD", allocations=(("F1", "100"),)))
    assert [r[1] for r in book.rejected] == ["currency_mismatch"]
    assert book.invoices[("FR01", "F1")].open_amount == D("100")
    assert ("FR01", "payment", "P1") not in book.documents


def test_same_invoice_again_is_a_no_op_newer_is_an_update_conflict_is_rejected() -> None:
    first = invoice("F1", "100")
    book = Book()
    book.apply_all([first, with_new_id(first)])
    assert book.tally.unchanged == 1
    book.apply(invoice("F1", "120", version=2, updated=True))
    assert book.invoices[("FR01", "F1")].amount == D("120")
    book.apply(invoice("F1", "90", version=2, updated=True))
    book.apply(invoice("F1", "90", version=1, updated=True))
    assert [r[1] for r in book.rejected] == ["invoice_conflict", "invoice_conflict"]
    assert book.invoices[("FR01", "F1")].amount == D("120")


def test_payment_before_its_invoice_is_parked_then_applied() -> None:
    book = Book()
    book.apply(payment("P1", "30", allocations=(("F1", "30"),)))
    assert book.tally.parked == 1
    (recorded,) = emitted(book)
    assert isinstance(recorded, ledger.UnmatchedCashRecorded)
    assert (recorded.payload.awaiting, recorded.payload.value_date) == (
        ("F1",),
        date(2026, 2, 10),
    )
    book.apply(invoice("F1", "100"))
    assert book.tally.unparked == 1
    opened, changed, cleared = emitted(book)[1:]
    # it opens at its amount; the parked payment follows with its own value date
    assert isinstance(opened, ledger.InvoiceOpened)
    assert opened.payload.open_amount.amount == D("100")
    assert isinstance(changed, ledger.OpenAmountChanged)
    assert (changed.payload.open_amount.amount, changed.payload.value_date) == (
        D("70"),
        date(2026, 2, 10),
    )
    assert isinstance(cleared, ledger.UnmatchedCashCleared)
    assert (cleared.payload.document_id, cleared.payload.outcome) == ("P1", "matched")
    assert book.documents[("FR01", "payment", "P1")].status == "applied"


def test_parked_payment_that_pays_it_all_opens_then_settles() -> None:
    book = Book()
    book.apply(credit_note("A1", "100", "F1"))
    book.apply(invoice("F1", "100"))
    assert types(book) == [
        "unmatched_cash.recorded",
        "invoice.opened",
        "invoice.settled",
        "unmatched_cash.cleared",
    ]
    assert emitted(book)[1].payload.open_amount.amount == D("100")


def test_credit_note_without_invoice_and_cancellation_refund_credit() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100"), payment("P1", "40"), cancellation("F1")])
    assert book.invoices[("FR01", "F1")].status == "cancelled"
    assert book.balances[("FR01", "C1", "EUR")] == D("40")
    book.apply(credit_note("A1", "5"))
    assert book.balances[("FR01", "C1", "EUR")] == D("45")


def test_older_customer_version_never_overwrites() -> None:
    book = Book()
    book.apply_all([customer(version=3, name="New"), customer(version=2, name="Old")])
    stored = book.customers["C1"].payload
    assert stored is not None
    assert stored.name == "New"
    assert book.tally.unchanged == 1


def test_unknown_company_is_rejected() -> None:
    book = Book(known_companies=frozenset({"FR01"}))
    book.apply(invoice("F1", company="XX99"))
    assert [r[1] for r in book.rejected] == ["unknown_company"]
    assert book.invoices == {}


def test_correction_below_what_was_paid_settles_and_credits_the_excess() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100"), payment("P1", "60")])
    book.apply(invoice("F1", "50", version=2, updated=True))
    assert types(book)[-2:] == ["invoice.settled", "customer.credit_balance_changed"]
    assert book.balances[("FR01", "C1", "EUR")] == D("10")


def test_correction_below_what_was_still_owed_settles_the_invoice_by_correction() -> None:
    # 200 owing 140 corrected to 50: the 60 paid exceed the new total; the settlement says
    # what the invoice owed (140), more than its total now, which only a correction may do
    book = Book()
    book.apply_all([invoice("F1", "200"), payment("P1", "60")])
    book.apply(invoice("F1", "50", version=2, updated=True))
    settled, credit = emitted(book)[-2:]
    assert isinstance(settled, ledger.InvoiceSettled)
    assert (settled.payload.cause, settled.payload.previous_open_amount.amount) == (
        "correction",
        D("140"),
    )
    assert settled.payload.amount.amount == D("50")
    assert isinstance(credit, ledger.CreditBalanceChanged)
    assert book.balances[("FR01", "C1", "EUR")] == D("10")
    assert book.invoices[("FR01", "F1")].status == "settled"


def test_duplicate_payment_id_with_other_content_is_a_conflict() -> None:
    book = Book()
    book.apply_all([invoice("F1", "100"), payment("P1", "10"), payment("P1", "20")])
    assert [r[1] for r in book.rejected] == ["document_conflict"]
    assert book.invoices[("FR01", "F1")].open_amount == D("90")


def test_parked_payment_in_another_currency_is_kept_as_rejected() -> None:
    book = Book()
    book.apply(payment("P1", "30", allocations=(("F1", "30"),)))
    book.apply(invoice("F1", "100", currency="USD"))
    parked = book.parked[("FR01", "payment", "P1")]
    assert (parked.status, parked.reason) == ("rejected", "currency_mismatch")
    assert book.invoices[("FR01", "F1")].open_amount == D("100")
    assert types(book) == [
        "unmatched_cash.recorded",
        "invoice.opened",
        "unmatched_cash.cleared",
    ]
    cleared = emitted(book)[-1]
    assert isinstance(cleared, ledger.UnmatchedCashCleared)
    assert (cleared.payload.outcome, cleared.payload.reason) == (
        "dead_lettered",
        "currency_mismatch",
    )
    assert [(p.document_id, reason) for p, reason, _ in book.dead_parked] == [
        ("P1", "currency_mismatch")
    ]


def test_payment_naming_another_customers_invoice_is_rejected() -> None:
    book = Book()
    book.apply(invoice("F1", "100", customer_id="C2"))
    book.apply(payment("P1", "30", allocations=(("F1", "30"),)))
    assert [r[1] for r in book.rejected] == ["customer_mismatch"]


def test_cancellation_before_its_invoice_is_parked_then_applied_after_the_opening() -> None:
    book = Book()
    book.apply(cancellation("F1"))
    book.apply(cancellation("F1"))  # the ERP sent it twice
    assert (book.tally.parked, book.tally.unchanged, emitted(book)) == (1, 1, [])
    book.apply(invoice("F1", "100"))
    assert types(book) == ["invoice.opened", "invoice.cancelled"]
    assert book.invoices[("FR01", "F1")].status == "cancelled"
    assert ("FR01", "cancellation", "F1") in book.unparked
    assert book.rejected == []


def test_parked_cancellation_naming_another_customer_is_dead_lettered_later() -> None:
    book = Book()
    book.apply(cancellation("F1", customer_id="C9"))
    book.apply(invoice("F1", "100"))
    assert types(book) == ["invoice.opened"]
    assert [(p.kind, reason) for p, reason, _ in book.dead_parked] == [
        ("cancellation", "invoice_conflict")
    ]
    assert book.invoices[("FR01", "F1")].status == "open"


def test_payment_before_any_invoice_pays_the_next_invoice_from_credit() -> None:
    book = Book()
    book.apply(payment("P1", "130"))
    assert book.balances[("FR01", "C1", "EUR")] == D("130")
    book.apply(invoice("F1", "100"))
    assert types(book) == [
        "customer.credit_balance_changed",
        "invoice.opened",
        "invoice.settled",
        "customer.credit_balance_changed",
    ]
    opened, settled, used = emitted(book)[1:]
    assert isinstance(opened, ledger.InvoiceOpened)
    assert isinstance(settled, ledger.InvoiceSettled)
    assert isinstance(used, ledger.CreditBalanceChanged)
    # settled the day the money came (after the invoice's issue date), not on its issue date
    assert (settled.payload.cause, settled.payload.settled_on) == (
        "credit_balance",
        date(2026, 2, 10),
    )
    assert (used.payload.delta, used.payload.balance) == (D("-100"), D("30"))
    book.apply(invoice("F2", "50"))
    assert book.invoices[("FR01", "F2")].open_amount == D("20")
    changed = emitted(book)[-2]
    assert isinstance(changed, ledger.OpenAmountChanged)
    assert (changed.payload.open_amount.amount, changed.payload.cause) == (
        D("20"),
        "credit_balance",
    )
    assert changed.payload.value_date == date(2026, 2, 10)
    assert book.balances[("FR01", "C1", "EUR")] == D("0")


def test_credit_is_kept_when_its_use_is_turned_off_or_in_another_currency() -> None:
    off = Book(apply_credit=False)
    off.apply_all([payment("P1", "130"), invoice("F1", "100")])
    assert off.invoices[("FR01", "F1")].open_amount == D("100")
    other = Book()
    other.apply_all([payment("P1", "130"), invoice("F1", "100", currency="USD")])
    assert other.invoices[("FR01", "F1")].open_amount == D("100")
    assert other.balances[("FR01", "C1", "EUR")] == D("130")


def test_reference_picks_the_invoice_before_the_oldest_due() -> None:
    book = Book()
    book.apply_all(
        [
            invoice("F1", "100", due=date(2026, 1, 10)),
            invoice("F2", "100", due=date(2026, 3, 10)),
            payment("P1", "100", reference="F2"),
        ]
    )
    assert book.invoices[("FR01", "F2")].status == "settled"
    assert book.invoices[("FR01", "F1")].open_amount == D("100")


amounts = st.integers(1, 50_000).map(lambda cents: str(Decimal(cents) / 100))


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    numbers = [f"F{n}" for n in range(draw(st.integers(1, 5)))]
    currency_of = {n: draw(st.sampled_from(["EUR", "USD"])) for n in numbers}
    events: list[Event] = [invoice(n, draw(amounts), currency=currency_of[n]) for n in numbers]
    for k in range(draw(st.integers(0, 8))):
        target = draw(st.sampled_from(numbers))
        currency = currency_of[target]
        kind = draw(st.sampled_from(["explicit", "free", "credit", "correction"]))
        if kind == "correction":  # the ERP's new total, to below what was paid or owed
            events.append(
                invoice(target, draw(amounts), currency=currency, version=k + 2, updated=True)
            )
        elif kind == "explicit":
            events.append(
                payment(f"P{k}", draw(amounts), currency=currency, allocations=((target, "0.01"),))
            )
        elif kind == "free":
            events.append(payment(f"P{k}", draw(amounts), currency=currency))
        else:
            events.append(credit_note(f"A{k}", draw(amounts), target))
    return draw(st.permutations(events))


@given(streams())
def test_any_order_keeps_money_exact_and_never_negative(events: list[Event]) -> None:
    book = Book()
    book.apply_all(events)
    for row in book.invoices.values():
        assert 0 <= row.open_amount <= row.amount
    applied = sum((d.amount for d in book.documents.values() if d.status == "applied"), Decimal(0))
    allocated = sum((a.amount for a in book.allocations), Decimal(0))
    credit = sum(book.balances.values(), Decimal(0))
    paid = sum((r.amount - r.open_amount for r in book.invoices.values()), Decimal(0))
    # what came in went to invoices or to credit (a correction below what was paid moves
    # the excess from the invoice to credit, with no allocation of its own)
    assert paid + credit == applied
    if not any(type(e) is erp.InvoiceUpdated for e in events):
        assert allocated + credit == applied
        assert paid == allocated
    for record in book.emitted:  # every ledger event is its contract's dump, and valid
        assert LEDGER_EVENTS.value(LEDGER_EVENTS.parse(record.value)) == record.value


lots_in = st.lists(
    st.tuples(
        st.none() | st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 1)),
        amounts.map(Decimal),
    ),
    max_size=6,
)


@given(added=lots_in, used=amounts.map(Decimal))
def test_credit_is_used_oldest_value_date_first_and_adds_up(
    added: list[tuple[date | None, Decimal]], used: Decimal
) -> None:
    lots: CreditLots = []
    for when, amount in added:
        add_credit(lots, when, amount)
    days = [when for when, _ in lots]
    undated = [d for d in days if d is None]
    assert days == undated + sorted(d for d in days if d is not None)
    total = sum((a for _, a in lots), Decimal(0))
    parts = take_credit(lots, used)
    assert sum((a for _, a in parts), Decimal(0)) == used
    assert sum((a for _, a in lots), Decimal(0)) == max(total - used, Decimal(0))
    dated = [d for d, _ in parts if d is not None]
    assert dated == sorted(dated)  # oldest first
    if used > total:  # more than the lots hold: the rest is undated
        assert parts[-1] == (None, used - total)


def test_credit_from_two_prepayments_pays_from_each_value_date() -> None:
    book = Book()
    book.apply(payment("P1", "70"))  # received 10 February
    early = payment("P0", "30").model_copy(deep=True)
    early = early.model_copy(
        update={"payload": early.payload.model_copy(update={"received_on": date(2026, 1, 20)})}
    )
    book.apply(early)
    book.apply(invoice("F1", "100"))  # issued 2 January
    changed, settled = [
        e for e in emitted(book) if isinstance(e, ledger.OpenAmountChanged | ledger.InvoiceSettled)
    ]
    assert isinstance(changed, ledger.OpenAmountChanged)
    assert (changed.payload.value_date, changed.payload.open_amount.amount) == (
        date(2026, 1, 20),
        D("70"),
    )
    assert isinstance(settled, ledger.InvoiceSettled)
    assert settled.payload.settled_on == date(2026, 2, 10)
    assert book.credit_lots[("FR01", "C1", "EUR")] == []


def test_a_public_bodys_platform_references_are_carried_to_the_ledger() -> None:
    issued = invoice("F1", "100")
    public = issued.model_copy(
        update={
            "payload": issued.payload.model_copy(
                update={"service_code": "SERV-ACHATS-01", "commitment_number": "EJ-2026-000417"}
            )
        }
    )
    book = Book()
    book.apply_all([public, invoice("F2", "50")])
    first, second = emitted(book)
    assert isinstance(first, ledger.InvoiceOpened)
    assert isinstance(second, ledger.InvoiceOpened)
    assert first.schema_version == 3
    assert (first.payload.service_code, first.payload.commitment_number) == (
        "SERV-ACHATS-01",
        "EJ-2026-000417",
    )
    assert (second.payload.service_code, second.payload.commitment_number) == (None, None)


def test_a_contract_rate_of_late_payment_interest_is_carried_to_the_ledger() -> None:
    issued = invoice("F1", "100")
    agreed = issued.model_copy(
        update={"payload": issued.payload.model_copy(update={"late_interest_rate": D("12.50")})}
    )
    book = Book()
    book.apply_all([agreed, invoice("F2", "50")])
    first, second = emitted(book)
    assert isinstance(first, ledger.InvoiceOpened)
    assert isinstance(second, ledger.InvoiceOpened)
    assert first.payload.late_interest_rate == D("12.50")
    assert second.payload.late_interest_rate is None


document_numbers = st.text(
    alphabet=st.sampled_from('FA0-9"\\,:{}version é'), min_size=1, max_size=30
).filter(lambda n: n.strip() != "")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@given(
    number=document_numbers,
    customer_id=st.sampled_from(["C1", 'C,"version":2,', "Ç"]),
    version=st.integers(min_value=0, max_value=10**12),
    purchase_order=st.none() | st.text(max_size=20),
    extra=st.dictionaries(st.sampled_from(["version", ',"version":1,', "x"]), json_values),
)
def test_invoice_digest_hashes_the_bytes_of_the_invoice_without_its_version(
    number: str, customer_id: str, version: int, purchase_order: str | None, extra: Any
) -> None:
    payload = erp.InvoicePayload(
        company_code="FR01",
        customer_id=customer_id,
        invoice_number=number,
        version=version,
        issue_date=date(2026, 1, 2),
        due_date=date(2026, 2, 1),
        amount=PositiveMoney(amount=Decimal("12.50"), currency="EUR"),
        purchase_order=purchase_order,
        extra=extra,
    )
    assert invoice_hash(payload) == content_hash(payload, exclude={"version"})
