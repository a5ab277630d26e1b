"""The words of the payment plan form and of the customer's proposed plans, in the portal's
five languages; merged into :data:`services.portal.i18n.WORDS`."""

from __future__ import annotations

PLAN_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "plan_title": "Propose a payment plan",
        "plan_help": "Spread what is open on the chosen invoices over at most {count} "
        "instalments of at least {min}: the first within {days} days, the last within "
        "{max_days} days, adding up to the amount open. Reminders for these invoices wait "
        "while we answer.",
        "field_instalment": "Instalment {n}",
        "field_instalment_date": "Due date",
        "field_instalment_amount": "Amount",
        "plan_submit": "Propose this plan",
        "thanks_plan": "Thank you: your plan was sent; we answer within a few days, and "
        "reminders for these invoices wait meanwhile.",
        "status_plan_proposed": "Payment plan proposed",
        "plan_none": "Fill in at least one instalment: its date and its amount.",
        "plan_too_many": "At most {count} instalments.",
        "plan_first_too_late": "The first instalment must be due within {days} days.",
        "plan_too_long": "The last instalment must be due within {days} days.",
        "plan_dates_order": "Each instalment must come after the one before.",
        "amount_required": "Enter an amount.",
        "amount_invalid": "This is not an amount (for example 1250.50).",
        "plan_amount_too_small": "Each instalment must be at least {min}.",
        "plan_total_mismatch": "The instalments add up to {total}; they must add up to "
        "{open}, the amount open on the chosen invoices.",
        "proposals_title": "Your proposed plans",
        "proposal_pending": "Proposed on {date}: awaiting our answer.",
        "proposal_accepted": "Proposed on {date}: accepted; our written confirmation follows.",
        "proposal_refused": "Proposed on {date}: refused. {reason}",
        "proposal_expired": "Proposed on {date}: we could not answer in time; reminders "
        "resume. Propose again or ask to be called back.",
    },
    "fr": {
        "plan_title": "Proposer un échéancier",
        "plan_help": "Répartissez le montant ouvert des factures choisies en {count} échéances "
        "au plus, d'au moins {min} chacune : la première sous {days} jours, la dernière sous "
        "{max_days} jours, pour un total égal au montant ouvert. Les relances de ces factures "
        "attendent notre réponse.",
        "field_instalment": "Échéance {n}",
        "field_instalment_date": "Date",
        "field_instalment_amount": "Montant",
        "plan_submit": "Proposer cet échéancier",
        "thanks_plan": "Merci : votre échéancier est transmis ; nous répondons sous quelques "
        "jours et les relances de ces factures attendent.",
        "status_plan_proposed": "Échéancier proposé",
        "plan_none": "Remplissez au moins une échéance : sa date et son montant.",
        "plan_too_many": "{count} échéances au plus.",
        "plan_first_too_late": "La première échéance doit tomber sous {days} jours.",
        "plan_too_long": "La dernière échéance doit tomber sous {days} jours.",
        "plan_dates_order": "Chaque échéance doit suivre la précédente.",
        "amount_required": "Indiquez un montant.",
        "amount_invalid": "Ce n'est pas un montant (par exemple 1250,50).",
        "plan_amount_too_small": "Chaque échéance doit être d'au moins {min}.",
        "plan_total_mismatch": "Les échéances totalisent {total} ; elles doivent totaliser "
        "{open}, le montant ouvert des factures choisies.",
        "proposals_title": "Vos échéanciers proposés",
        "proposal_pending": "Proposé le {date} : en attente de notre réponse.",
        "proposal_accepted": "Proposé le {date} : accepté ; notre confirmation écrite suit.",
        "proposal_refused": "Proposé le {date} : refusé. {reason}",
        "proposal_expired": "Proposé le {date} : nous n'avons pu répondre à temps ; les "
        "relances reprennent. Proposez à nouveau ou demandez à être rappelé.",
    },
    "de": {
        "plan_title": "Ratenzahlung vorschlagen",
        "plan_help": "Verteilen Sie den offenen Betrag der gewählten Rechnungen auf höchstens "
        "{count} Raten von mindestens {min}: die erste innerhalb von {days} Tagen, die letzte "
        "innerhalb von {max_days} Tagen, zusammen der offene Betrag. Mahnungen zu diesen "
        "Rechnungen warten auf unsere Antwort.",
        "field_instalment": "Rate {n}",
        "field_instalment_date": "Fälligkeit",
        "field_instalment_amount": "Betrag",
        "plan_submit": "Ratenplan vorschlagen",
        "thanks_plan": "Danke: Ihr Ratenplan ist übermittelt; wir antworten in wenigen Tagen, "
        "bis dahin ruhen die Mahnungen zu diesen Rechnungen.",
        "status_plan_proposed": "Ratenplan vorgeschlagen",
        "plan_none": "Füllen Sie mindestens eine Rate aus: Datum und Betrag.",
        "plan_too_many": "Höchstens {count} Raten.",
        "plan_first_too_late": "Die erste Rate muss innerhalb von {days} Tagen fällig sein.",
        "plan_too_long": "Die letzte Rate muss innerhalb von {days} Tagen fällig sein.",
        "plan_dates_order": "Jede Rate muss nach der vorherigen fällig sein.",
        "amount_required": "Geben Sie einen Betrag ein.",
        "amount_invalid": "Das ist kein Betrag (zum Beispiel 1250,50).",
        "plan_amount_too_small": "Jede Rate muss mindestens {min} betragen.",
        "plan_total_mismatch": "Die Raten ergeben {total}; sie müssen {open} ergeben, den "
        "offenen Betrag der gewählten Rechnungen.",
        "proposals_title": "Ihre vorgeschlagenen Ratenpläne",
        "proposal_pending": "Vorgeschlagen am {date}: wartet auf unsere Antwort.",
        "proposal_accepted": "Vorgeschlagen am {date}: angenommen; unsere schriftliche "
        "Bestätigung folgt.",
        "proposal_refused": "Vorgeschlagen am {date}: abgelehnt. {reason}",
        "proposal_expired": "Vorgeschlagen am {date}: wir konnten nicht rechtzeitig antworten; "
        "die Mahnungen laufen weiter. Schlagen Sie erneut vor oder bitten Sie um Rückruf.",
    },
    "es": {
        "plan_title": "Proponer un plan de pagos",
        "plan_help": "Reparta el importe pendiente de las facturas elegidas en {count} plazos "
        "como máximo, de al menos {min} cada uno: el primero en {days} días, el último en "
        "{max_days} días, sumando el importe pendiente. Los recordatorios de estas facturas "
        "esperan nuestra respuesta.",
        "field_instalment": "Plazo {n}",
        "field_instalment_date": "Fecha",
        "field_instalment_amount": "Importe",
        "plan_submit": "Proponer este plan",
        "thanks_plan": "Gracias: su plan se ha enviado; respondemos en pocos días y los "
        "recordatorios de estas facturas esperan.",
        "status_plan_proposed": "Plan de pagos propuesto",
        "plan_none": "Complete al menos un plazo: su fecha y su importe.",
        "plan_too_many": "Como máximo {count} plazos.",
        "plan_first_too_late": "El primer plazo debe vencer en {days} días como máximo.",
        "plan_too_long": "El último plazo debe vencer en {days} días como máximo.",
        "plan_dates_order": "Cada plazo debe ser posterior al anterior.",
        "amount_required": "Indique un importe.",
        "amount_invalid": "No es un importe (por ejemplo 1250,50).",
        "plan_amount_too_small": "Cada plazo debe ser de al menos {min}.",
        "plan_total_mismatch": "Los plazos suman {total}; deben sumar {open}, el importe "
        "pendiente de las facturas elegidas.",
        "proposals_title": "Sus planes propuestos",
        "proposal_pending": "Propuesto el {date}: pendiente de nuestra respuesta.",
        "proposal_accepted": "Propuesto el {date}: aceptado; sigue nuestra confirmación "
        "por escrito.",
        "proposal_refused": "Propuesto el {date}: rechazado. {reason}",
        "proposal_expired": "Propuesto el {date}: no pudimos responder a tiempo; los "
        "recordatorios se reanudan. Proponga de nuevo o pida que le llamemos.",
    },
    "it": {
        "plan_title": "Proporre un piano di rientro",
        "plan_help": "Suddivida l'importo aperto delle fatture scelte in al massimo {count} "
        "rate di almeno {min}: la prima entro {days} giorni, l'ultima entro {max_days} giorni, "
        "per un totale pari all'importo aperto. I solleciti di queste fatture attendono la "
        "nostra risposta.",
        "field_instalment": "Rata {n}",
        "field_instalment_date": "Scadenza",
        "field_instalment_amount": "Importo",
        "plan_submit": "Proporre questo piano",
        "thanks_plan": "Grazie: il piano è stato inviato; rispondiamo entro pochi giorni e i "
        "solleciti di queste fatture attendono.",
        "status_plan_proposed": "Piano di rientro proposto",
        "plan_none": "Compili almeno una rata: la data e l'importo.",
        "plan_too_many": "Al massimo {count} rate.",
        "plan_first_too_late": "La prima rata deve scadere entro {days} giorni.",
        "plan_too_long": "L'ultima rata deve scadere entro {days} giorni.",
        "plan_dates_order": "Ogni rata deve venire dopo la precedente.",
        "amount_required": "Indichi un importo.",
        "amount_invalid": "Non è un importo (per esempio 1250,50).",
        "plan_amount_too_small": "Ogni rata deve essere di almeno {min}.",
        "plan_total_mismatch": "Le rate sommano {total}; devono sommare {open}, l'importo "
        "aperto delle fatture scelte.",
        "proposals_title": "I suoi piani proposti",
        "proposal_pending": "Proposto il {date}: in attesa della nostra risposta.",
        "proposal_accepted": "Proposto il {date}: accettato; segue la nostra conferma scritta.",
        "proposal_refused": "Proposto il {date}: rifiutato. {reason}",
        "proposal_expired": "Proposto il {date}: non abbiamo potuto rispondere in tempo; i "
        "solleciti riprendono. Proponga di nuovo o chieda di essere richiamato.",
    },
}
