"""The words of paying by bank transfer (GoCardless Instant Bank Pay), in the portal's five
languages; merged into :data:`services.portal.i18n.WORDS`."""

from __future__ import annotations

TRANSFER_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "transfer_title": "Pay by bank transfer",
        "transfer_help": "Pay the chosen invoices by an instant transfer from your bank: you "
        "choose your bank on our payment provider's page and approve the transfer in your "
        "banking app, then come back here.",
        "transfer_submit": "Pay by bank transfer",
        "transfer_currency": "Bank transfer is offered only in these currencies: {currencies}.",
        "thanks_transfer": "Thank you: your transfer is approved; reminders for these invoices "
        "are paused once your bank has sent it.",
        "thanks_transfer_paid": "These invoices are already being paid: nothing more to do.",
    },
    "fr": {
        "transfer_title": "Payer par virement",
        "transfer_help": "Payez les factures choisies par un virement instantané depuis votre "
        "banque : vous choisissez votre banque sur la page de notre prestataire de paiement et "
        "validez le virement dans votre application bancaire, puis revenez ici.",
        "transfer_submit": "Payer par virement",
        "transfer_currency": "Le virement n'est proposé que dans ces devises : {currencies}.",
        "thanks_transfer": "Merci : votre virement est validé ; les relances de ces factures "
        "sont suspendues dès que votre banque l'a émis.",
        "thanks_transfer_paid": "Ces factures sont déjà en cours de paiement : rien de plus à "
        "faire.",
    },
    "de": {
        "transfer_title": "Per Überweisung bezahlen",
        "transfer_help": "Bezahlen Sie die gewählten Rechnungen per Sofortüberweisung von Ihrer "
        "Bank: Sie wählen Ihre Bank auf der Seite unseres Zahlungsdienstleisters und geben die "
        "Überweisung in Ihrer Banking-App frei, dann kommen Sie hierher zurück.",
        "transfer_submit": "Per Überweisung bezahlen",
        "transfer_currency": "Überweisung ist nur in diesen Währungen möglich: {currencies}.",
        "thanks_transfer": "Vielen Dank: Ihre Überweisung ist freigegeben; Mahnungen zu diesen "
        "Rechnungen ruhen, sobald Ihre Bank sie ausgeführt hat.",
        "thanks_transfer_paid": "Diese Rechnungen werden bereits bezahlt: Sie müssen nichts "
        "weiter tun.",
    },
    "es": {
        "transfer_title": "Pagar por transferencia",
        "transfer_help": "Pague las facturas elegidas con una transferencia inmediata desde su "
        "banco: elige su banco en la página de nuestro proveedor de pagos y autoriza la "
        "transferencia en su aplicación bancaria; después vuelve aquí.",
        "transfer_submit": "Pagar por transferencia",
        "transfer_currency": "La transferencia solo se ofrece en estas monedas: {currencies}.",
        "thanks_transfer": "Gracias: su transferencia está autorizada; los recordatorios de "
        "estas facturas se suspenden en cuanto su banco la emita.",
        "thanks_transfer_paid": "Estas facturas ya se están pagando: no tiene que hacer nada más.",
    },
    "it": {
        "transfer_title": "Paga con bonifico",
        "transfer_help": "Paghi le fatture scelte con un bonifico istantaneo dalla sua banca: "
        "sceglie la banca sulla pagina del nostro fornitore di pagamenti e autorizza il "
        "bonifico nella app della banca, poi torna qui.",
        "transfer_submit": "Paga con bonifico",
        "transfer_currency": "Il bonifico è offerto solo in queste valute: {currencies}.",
        "thanks_transfer": "Grazie: il bonifico è autorizzato; i solleciti per queste fatture "
        "sono sospesi non appena la sua banca lo ha inviato.",
        "thanks_transfer_paid": "Queste fatture sono già in corso di pagamento: non deve fare "
        "altro.",
    },
}
