"""The words of the account's statement (the PDF and its link on the account page), in the
portal's five languages; merged into :data:`services.portal.i18n.WORDS`."""

from __future__ import annotations

STATEMENT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "statement_link": "Download the statement (PDF)",
        "statement_title": "Statement of account",
        "statement_customer": "Customer",
        "statement_as_of": "On {date}",
        "statement_issued": "Issued",
        "statement_amount": "Amount",
        "statement_total": "Total open in {currency}",
        "statement_file": "statement",
        "statement_nothing_open": "No invoice is open.",
        "statement_received": "Received in the last {days} days",
        "statement_footer": "Statement drawn up from the records known on {date}; a payment "
        "made since may not appear yet.",
    },
    "fr": {
        "statement_link": "Télécharger le relevé de compte (PDF)",
        "statement_title": "Relevé de compte",
        "statement_customer": "Client",
        "statement_as_of": "Au {date}",
        "statement_issued": "Émise le",
        "statement_amount": "Montant",
        "statement_total": "Total restant dû en {currency}",
        "statement_file": "releve",
        "statement_nothing_open": "Aucune facture n'est ouverte.",
        "statement_received": "Reçu ces {days} derniers jours",
        "statement_footer": "Relevé établi d'après les écritures connues au {date} ; un "
        "paiement effectué depuis peut ne pas encore y figurer.",
    },
    "de": {
        "statement_link": "Kontoauszug herunterladen (PDF)",
        "statement_title": "Kontoauszug",
        "statement_customer": "Kunde",
        "statement_as_of": "Stand {date}",
        "statement_issued": "Ausgestellt",
        "statement_amount": "Betrag",
        "statement_total": "Offen in {currency} insgesamt",
        "statement_file": "kontoauszug",
        "statement_nothing_open": "Keine Rechnung ist offen.",
        "statement_received": "In den letzten {days} Tagen erhalten",
        "statement_footer": "Auszug nach den am {date} bekannten Buchungen; eine seither "
        "geleistete Zahlung ist möglicherweise noch nicht enthalten.",
    },
    "es": {
        "statement_link": "Descargar el extracto de cuenta (PDF)",
        "statement_title": "Extracto de cuenta",
        "statement_customer": "Cliente",
        "statement_as_of": "A {date}",
        "statement_issued": "Emitida",
        "statement_amount": "Importe",
        "statement_total": "Total pendiente en {currency}",
        "statement_file": "extracto",
        "statement_nothing_open": "No hay ninguna factura pendiente.",
        "statement_received": "Recibido en los últimos {days} días",
        "statement_footer": "Extracto elaborado con los apuntes conocidos a {date}; un pago "
        "realizado después puede no figurar todavía.",
    },
    "it": {
        "statement_link": "Scarica l'estratto conto (PDF)",
        "statement_title": "Estratto conto",
        "statement_customer": "Cliente",
        "statement_as_of": "Al {date}",
        "statement_issued": "Emessa il",
        "statement_amount": "Importo",
        "statement_total": "Totale aperto in {currency}",
        "statement_file": "estratto-conto",
        "statement_nothing_open": "Nessuna fattura è aperta.",
        "statement_received": "Ricevuto negli ultimi {days} giorni",
        "statement_footer": "Estratto redatto in base alle registrazioni note al {date}; un "
        "pagamento effettuato nel frattempo potrebbe non comparire ancora.",
    },
}
