"""An invoice whose contract states a late-payment rate bears interest at that rate, not the
statutory one, and the notice says so beside the statutory wording for the other invoices
(docs/law.md, "Contract rates")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.notifier import ledger_batch
from services.notifier.composing.composer import CustomerView, EmailComposer, OpenItem
from services.notifier.domain import penalties
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from services.runtime.late_payment import ReferenceRate, ReferenceRates
from tests.unit.notifier.samples import NOW, invoice_opened, open_amount_changed, reminder

RATES = ReferenceRates((ReferenceRate("ecb_mro", date(2025, 6, 11), Decimal("2.15")),))
DUE = date(2026, 1, 31)  # 30 days late on NOW (2 March 2026)


def _item(number: str, rate: str | None) -> OpenItem:
    return OpenItem(
        f"FR01/{number}",
        number,
        DUE,
        "EUR",
        Decimal("1200.00"),
        Decimal("700.00"),
        late_interest_rate=None if rate is None else Decimal(rate),
    )


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(RATES))


def _notice(composer: EmailComposer, customer: CustomerView, language: str) -> str:
    due = reminder(
        "INV-1", "INV-2", level="formal_notice", template="formal_notice", language=language
    )
    return composer.render_reminder(due, due.invoices, customer, NOW, medium="letter").text


def _customer(*items: OpenItem) -> CustomerView:
    return CustomerView(name="ACME", language="fr", contacts=(), open_items=items)


def test_one_invoice_at_its_contract_rate_and_one_at_the_statutory_rate_on_one_notice(
    composer: EmailComposer,
) -> None:
    customer = _customer(_item("INV-1", "12.50"), _item("INV-2", None))
    text = _notice(composer, customer, "fr")
    # INV-1: 700 x 12.50% x 30 / 365 = 7.19; INV-2: ECB 2.15 + 10 = 12.15%, 6.99
    assert "Facture INV-1, échue le 31 janvier 2026 : 700,00\u00a0€" in text
    assert "pénalités de retard 7,19\u00a0€ (30 jours)" in text
    assert "pénalités de retard 6,99\u00a0€ (30 jours)" in text
    assert (
        "Conformément à l'article L441-10 du Code de commerce, les sommes impayées à leur "
        "échéance portent intérêt au taux de 12,15 % l'an à compter du lendemain de "
        "l'échéance. La facture INV-1 porte intérêt au taux contractuel de 12,5 % l'an à "
        "compter du lendemain de son échéance, au lieu du taux légal."
    ) in text
    assert "INV-2 porte intérêt au taux contractuel" not in text

    english = _notice(composer, customer, "en")
    assert (
        "Invoice INV-1 bears interest at the contractual rate of 12.5% a year from the day "
        "after its due date, instead of the statutory rate."
    ) in english
    assert "bear interest at 12.15% a year" in english


@pytest.mark.parametrize(
    ("language", "wording"),
    [
        (
            "de",
            "Rechnung INV-1 ist ab dem Tag nach Fälligkeit statt mit dem gesetzlichen mit dem "
            "vertraglichen Zinssatz von 12,5 % pro Jahr zu verzinsen.",
        ),
        ("es", "La factura INV-1 devenga intereses de demora al tipo contractual del 12,5 %"),
        ("it", "La fattura INV-1 produce interessi di mora al tasso contrattuale del 12,5 %"),
    ],
)
def test_every_language_names_the_contract_rate(
    composer: EmailComposer, language: str, wording: str
) -> None:
    text = _notice(composer, _customer(_item("INV-1", "12.50"), _item("INV-2", None)), language)
    assert wording in text


def test_only_contract_rates_state_no_statutory_rate(composer: EmailComposer) -> None:
    text = _notice(composer, _customer(_item("INV-1", "12.50"), _item("INV-2", "9")), "en")
    assert "a year from the day after the due date." not in text  # the statutory sentence
    assert "Invoice INV-1 bears interest at the contractual rate of 12.5% a year" in text
    assert "Invoice INV-2 bears interest at the contractual rate of 9% a year" in text
    assert "instead of the statutory rate" not in text


def test_a_french_consumer_owes_only_the_contract_rate() -> None:
    owed = penalties.penalties_of(
        [
            penalties.LateInvoice("A", Decimal(700), "EUR", DUE, contract_rate=Decimal("12.50")),
            penalties.LateInvoice("B", Decimal(700), "EUR", DUE),
        ],
        NOW.date(),
        creditor_country="FR",
        customer_type="consumer",
        rates=RATES,
    )
    assert owed.interest == {"A": Decimal("7.19"), "B": Decimal("0.00")}
    assert owed.contract_rates == {"A": Decimal("12.50")}
    assert owed.yearly_rate is None


def test_the_contract_rate_needs_no_reference_rate() -> None:
    owed = penalties.penalties_of(
        [penalties.LateInvoice("A", Decimal(700), "EUR", DUE, contract_rate=Decimal("12.50"))],
        NOW.date(),
        creditor_country="FR",
        customer_type="business",
        rates=ReferenceRates(()),
    )
    assert owed.interest == {"A": Decimal("7.19")}
    assert owed.interest_unknown == ()


def test_the_view_keeps_the_opening_rate_through_a_change_of_the_open_amount() -> None:
    opened = invoice_opened("INV-1")
    opened = opened.model_copy(
        update={"payload": opened.payload.model_copy(update={"late_interest_rate": Decimal(9)})}
    )
    run = ledger_batch.LedgerRun()
    run.add(opened)
    run.add(open_amount_changed("INV-1"))
    row = run.items["FR01/INV-1"].row
    assert row is not None
    assert (row.late_interest_rate, row.states_rate, row.open_amount) == (
        Decimal(9),
        True,
        Decimal("700.00"),
    )

    alone = ledger_batch.LedgerRun()
    alone.add(open_amount_changed("INV-1"))
    row = alone.items["FR01/INV-1"].row
    assert row is not None
    assert not row.states_rate  # the row's stored rate is left as it is


def test_the_pdf_statement_names_the_contract_rate(composer: EmailComposer) -> None:
    from services.notifier.composing.statement_pdf import statement_pdf
    from tests.unit.notifier.pdf_text import page_text

    due = reminder("INV-1", "INV-2", level="formal_notice", template="formal_notice")
    customer = _customer(_item("INV-1", "12.50"), _item("INV-2", None))
    statement = composer.render_reminder(due, due.invoices, customer, NOW).statement
    text = page_text(
        statement_pdf(
            creditor=composer.creditor_for("FR01"),
            customer_name="ACME",
            customer_id="C-1",
            language="fr",
            statement=statement,
            created_at=NOW,
        )
    )
    assert "Taux des pénalités de retard : 12,15 % l'an" in text
    assert "Facture INV-1 : taux contractuel de 12,5 % l'an." in text
    assert "Facture INV-2 : taux contractuel" not in text
