"""A reminder after a broken promise or a missed instalment recalls it: the day it was made,
the amount and the day promised, in the reminder's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.notifier.composing.composer import SAMPLE_RATES, CustomerView, EmailComposer
from services.notifier.domain.commitments import BrokenCommitment, recalled
from services.notifier.reference_rates import RateBook
from services.notifier.settings import NotifierSettings
from tests.unit.notifier.samples import NOW, reminder

PROMISE = BrokenCommitment(
    "promise",
    "FR01/INV-1",
    date(2026, 3, 20),
    Decimal("1200.00"),
    "EUR",
    made_on=date(2026, 3, 12),
)
INSTALMENT = BrokenCommitment(
    "instalment",
    "FR01/INV-1",
    date(2026, 4, 5),
    Decimal("400.00"),
    "EUR",
    made_on=date(2026, 3, 1),
    instalment_number=2,
)
CUSTOMER = CustomerView(
    name="ACME <Industrie> & Fils",
    language="fr",
    contacts=({"role": "billing", "name": "Claire", "email": "compta@acme.example"},),
)

PROMISE_SENTENCES = {
    "fr": "Vous vous étiez engagé le 12 mars 2026 à régler 1\u202f200,00\u00a0€ au plus tard "
    "le 20 mars 2026 ; nous n'avons pas reçu ce paiement.",
    "en": "You undertook on March 12, 2026 to pay €1,200.00 by March 20, 2026; we have not "
    "received this payment.",
    "de": "Sie hatten sich am 12. März 2026 verpflichtet, 1.200,00\u00a0€ bis spätestens "
    "20. März 2026 zu zahlen; diese Zahlung ist bei uns nicht eingegangen.",
    "es": "Usted se comprometió el 12 de marzo de 2026 a pagar 1.200,00\u00a0€ a más tardar "
    "el 20 de marzo de 2026; no hemos recibido este pago.",
    "it": "Vi eravate impegnati il 12 marzo 2026 a pagare 1.200,00\u00a0€ entro il 20 marzo "
    "2026; non abbiamo ricevuto questo pagamento.",
}
INSTALMENT_SENTENCES = {
    "fr": "L'échéance n° 2 de l'échéancier convenu le 1 mars 2026, de 400,00\u00a0€ au "
    "5 avril 2026, n'a pas été réglée.",
    "en": "Instalment no. 2 of the payment plan agreed on March 1, 2026, €400.00 due on "
    "April 5, 2026, has not been paid.",
    "de": "Die Rate Nr. 2 der am 1. März 2026 vereinbarten Ratenzahlung über 400,00\u00a0€, "
    "fällig am 5. April 2026, wurde nicht bezahlt.",
    "es": "El plazo n.º 2 del plan de pagos acordado el 1 de marzo de 2026, de 400,00\u00a0€ "
    "con vencimiento el 5 de abril de 2026, no ha sido pagado.",
    "it": "La rata n. 2 del piano di rientro concordato il 1 marzo 2026, di 400,00\u00a0€ in "
    "scadenza il 5 aprile 2026, non è stata pagata.",
}


@pytest.fixture(scope="module")
def composer() -> EmailComposer:
    return EmailComposer.load(NotifierSettings(), RateBook(SAMPLE_RATES))


def _texts(composer: EmailComposer, language: str, customer: CustomerView) -> tuple[str, str]:
    due = reminder("INV-1", "INV-2", language=language)
    rendering = composer.render_reminder(due, due.invoices, customer, NOW)
    return rendering.rendered.text, rendering.rendered.html


@pytest.mark.parametrize("language", sorted(PROMISE_SENTENCES))
def test_the_reminder_after_a_broken_promise_recalls_it(
    composer: EmailComposer, language: str
) -> None:
    text, html = _texts(composer, language, replace(CUSTOMER, broken=(PROMISE,)))
    assert PROMISE_SENTENCES[language] in text
    assert f'<p class="broken-commitment">{PROMISE_SENTENCES[language]}</p>' in html.replace(
        "&#39;", "'"
    )


@pytest.mark.parametrize("language", sorted(INSTALMENT_SENTENCES))
def test_the_reminder_after_a_missed_instalment_recalls_it(
    composer: EmailComposer, language: str
) -> None:
    text, _ = _texts(composer, language, replace(CUSTOMER, broken=(INSTALMENT,)))
    assert INSTALMENT_SENTENCES[language] in text


def test_nothing_is_recalled_without_a_broken_commitment(composer: EmailComposer) -> None:
    text, html = _texts(composer, "fr", CUSTOMER)
    assert "engagé" not in text
    assert "broken-commitment" not in html


def test_only_the_reminders_invoices_are_recalled_each_commitment_once() -> None:
    on_two = (PROMISE, replace(PROMISE, invoice_id="FR01/INV-2"))
    other = replace(INSTALMENT, invoice_id="FR01/INV-9")
    assert recalled((*on_two, other), ("FR01/INV-1", "FR01/INV-2")) == (PROMISE,)
    assert recalled((other,), ("FR01/INV-1",)) == ()
