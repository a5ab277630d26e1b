"""The portal's words in the customer's language, and money and dates formatted by Babel.

Languages: French, English, German, Spanish and Italian; any other falls back to English.
Every language has every key (a unit test checks it), so a page never mixes languages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.numbers import format_currency

from services.portal.owner_words import OWNER_WORDS
from services.portal.plan_words import PLAN_WORDS
from services.portal.statement_words import STATEMENT_WORDS
from services.portal.transfer_words import TRANSFER_WORDS

LANGUAGES = ("fr", "en", "de", "es", "it")
FALLBACK = "en"
LOCALES = {"fr": "fr_FR", "en": "en_GB", "de": "de_DE", "es": "es_ES", "it": "it_IT"}


def language_of(code: str | None) -> str:
    """The page's language for a customer's language code (``fr``, ``fr-BE``, ``de_CH``)."""
    base = (code or "").replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else FALLBACK


def from_accept_language(header: str | None) -> str:
    """The best page language for a browser's ``Accept-Language``, for pages that know no
    customer (a tampered link)."""
    wanted = []
    for part in (header or "").split(","):
        tag = part.split(";", 1)[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    found = negotiate_locale(wanted, list(LANGUAGES) + list(LOCALES.values()), sep="_")
    return language_of(found)


def money(amount: Decimal, currency: str, language: str) -> str:
    return str(format_currency(amount, currency, locale=LOCALES[language]))


def day(value: date, language: str) -> str:
    return str(format_date(value, format="long", locale=LOCALES[language]))


def language_name(language: str) -> str:
    return str(Locale.parse(LOCALES[language]).get_language_name(LOCALES[language]))


CATEGORIES = ("commercial", "quality", "delivery", "pricing", "administrative", "accounting")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "field_attachments": "Documents (PDF, PNG or JPEG; at most {count} files of {max} MB)",
        "attachments_again": "Choose your documents again: they are not kept when the form comes "
        "back.",
        "attachment_type": "{name} is not a PDF, PNG or JPEG file.",
        "attachment_too_large": "{name} is larger than {max} MB.",
        "attachment_too_many": "Attach at most {max} documents.",
        "attachment_failed_title": "Documents not received",
        "attachment_failed_text": "Your documents could not be saved. Please try again in a few "
        "minutes.",
        "copy_link": "Download the copy of invoice {number}",
        "copy_missing_title": "Copy not available",
        "copy_missing_text": "This invoice's copy cannot be found. Reply to the email you "
        "received to get it.",
        "copy_failed_title": "Copy unavailable",
        "copy_failed_text": "The copy could not be fetched. Please try again in a few minutes.",
        "callback_title": "Ask to be called back",
        "callback_help": "Leave a number and a time: the person in charge of your account calls "
        "you.",
        "field_phone": "Phone number (international, e.g. +33 6 12 34 56 78)",
        "field_callback_date": "Day",
        "field_slot": "Time",
        "slot_morning": "Morning (9:00 to 12:00)",
        "slot_afternoon": "Afternoon (14:00 to 17:00)",
        "callback_submit": "Call me back",
        "thanks_callback": "Thank you: we will call you at the time you chose.",
        "phone_required": "Enter a phone number.",
        "phone_invalid": "Enter the number in international format, starting with + and the "
        "country code.",
        "slot_required": "Choose a time.",
        "too_many_to_pay": "Choose fewer invoices: pay the others in a second payment.",
        "pay_title": "Pay online",
        "pay_help": "Pay the chosen invoices by card with our payment provider; "
        "you come back here afterwards.",
        "pay_submit": "Pay by card",
        "already_being_paid": "These invoices are already being paid: choose others.",
        "vat_number": "VAT number",
        "company_identity": "The invoicing company",
        "debit_title": "Pay by direct debit",
        "debit_help": (
            "Pay the chosen invoices by SEPA direct debit from your bank account:"
            " you give your IBAN and authorise the debit on our payment "
            "provider's page, then come back here."
        ),
        "debit_submit": "Pay by direct debit",
        "debit_currency": "Direct debit collects only these currencies: {currencies}.",
        "thanks_debit": (
            "Thank you: your direct debit is authorised; reminders for these "
            "invoices are paused once your bank has been asked for the payment."
        ),
        "thanks_debit_paid": (
            "These invoices are already being paid by direct debit: nothing more to do."
        ),
        "thanks_payment": "Thank you: your payment is being confirmed; reminders for "
        "these invoices are paused.",
        "provider_failed_title": "Payment unavailable",
        "provider_failed_text": "The payment service did not answer. Please try again in a "
        "few minutes.",
        "page_title": "Your account",
        "skip": "Skip to content",
        "account_of": "Account of {customer} with {company}",
        "open_invoices": "Open invoices",
        "currency_total": "Open in {currency}",
        "overdue_total": "of which overdue",
        "col_invoice": "Invoice",
        "col_due": "Due date",
        "col_open": "Amount open",
        "col_status": "Status",
        "status_due": "Due",
        "status_overdue": "Overdue",
        "status_in_dispute": "In dispute",
        "status_promised": "Payment announced",
        "status_in_plan": "In a payment plan",
        "days_late": "{days} days late",
        "promised_for": "for {date}",
        "nothing_open": "No invoice is open. Thank you.",
        "received": "Received recently",
        "cause_payment": "Payment",
        "cause_credit_note": "Credit note",
        "nothing_received": "Nothing received in the last {days} days.",
        "promise_title": "Announce a payment date",
        "promise_help": "Choose the invoices you will pay and the day the payment leaves.",
        "field_invoices": "Invoices",
        "field_date": "Payment date",
        "promise_submit": "Announce this date",
        "dispute_title": "Report a problem with invoices",
        "dispute_help": "Your message goes to the team that can solve it.",
        "field_category": "What is wrong",
        "choose": "Choose…",
        "category_commercial": "Commercial terms",
        "category_quality": "Quality of goods or service",
        "category_delivery": "Delivery",
        "category_pricing": "Price",
        "category_administrative": "Administrative (order, address, references)",
        "category_accounting": "Accounting (already paid, credit note)",
        "field_message": "Your message",
        "dispute_submit": "Send",
        "thanks_promise": "Thank you: your payment date is recorded.",
        "thanks_dispute": "Thank you: your message was sent to the team that can solve it.",
        "error_summary": "Please correct the fields marked below.",
        "error_prefix": "Error:",
        "choose_invoices": "Choose at least one invoice.",
        "date_required": "Enter a date.",
        "date_invalid": "This is not a date (expected: YYYY-MM-DD).",
        "date_past": "The date cannot be in the past.",
        "date_too_far": "The date must be within {days} days.",
        "one_currency": "Choose invoices in one currency only.",
        "category_required": "Choose what is wrong.",
        "message_required": "Write a message.",
        "message_too_long": "The message is too long (at most {max} characters).",
        "expired_title": "This link has expired",
        "expired_text": "Ask for a new link by replying to the email you received.",
        "tampered_title": "This link is not valid",
        "tampered_text": "Check that the whole link was copied, or reply to the email you "
        "received.",
        "too_many": "Too many requests: please wait a minute and try again.",
        "too_large": "This form is too large.",
        "not_found_title": "Account not available",
        "not_found_text": "This account cannot be shown yet. Please try again later.",
    },
    "fr": {
        "field_attachments": "Documents (PDF, PNG ou JPEG ; au plus {count} fichiers de {max} Mo)",
        "attachments_again": "Choisissez de nouveau vos documents : ils ne sont pas conservés "
        "quand le formulaire revient.",
        "attachment_type": "{name} n'est pas un fichier PDF, PNG ou JPEG.",
        "attachment_too_large": "{name} dépasse {max} Mo.",
        "attachment_too_many": "Joignez au plus {max} documents.",
        "attachment_failed_title": "Documents non reçus",
        "attachment_failed_text": "Vos documents n'ont pas pu être enregistrés. Réessayez dans "
        "quelques minutes.",
        "copy_link": "Télécharger la copie de la facture {number}",
        "copy_missing_title": "Copie indisponible",
        "copy_missing_text": "La copie de cette facture est introuvable. Répondez à l'e-mail reçu "
        "pour l'obtenir.",
        "copy_failed_title": "Copie indisponible",
        "copy_failed_text": "La copie n'a pas pu être récupérée. Réessayez dans quelques minutes.",
        "callback_title": "Être rappelé",
        "callback_help": "Laissez un numéro et un créneau : la personne qui suit votre compte "
        "vous appelle.",
        "field_phone": "Numéro de téléphone (international, ex. +33 6 12 34 56 78)",
        "field_callback_date": "Jour",
        "field_slot": "Créneau",
        "slot_morning": "Matin (de 9 h à 12 h)",
        "slot_afternoon": "Après-midi (de 14 h à 17 h)",
        "callback_submit": "Me rappeler",
        "thanks_callback": "Merci : nous vous appellerons au créneau choisi.",
        "phone_required": "Saisissez un numéro de téléphone.",
        "phone_invalid": "Saisissez le numéro au format international, commençant par + et "
        "l'indicatif du pays.",
        "slot_required": "Choisissez un créneau.",
        "too_many_to_pay": "Choisissez moins de factures : "
        "réglez les autres en un second paiement.",
        "pay_title": "Payer en ligne",
        "pay_help": "Réglez les factures choisies par carte chez notre "
        "prestataire de paiement ; vous revenez ici ensuite.",
        "pay_submit": "Payer par carte",
        "already_being_paid": (
            "Ces factures sont déjà en cours de paiement : choisissez-en d'autres."
        ),
        "vat_number": "N° TVA",
        "company_identity": "La société qui facture",
        "debit_title": "Payer par prélèvement",
        "debit_help": (
            "Réglez les factures choisies par prélèvement SEPA sur votre compte "
            "bancaire : vous indiquez votre IBAN et autorisez le prélèvement sur "
            "la page de notre prestataire de paiement, puis revenez ici."
        ),
        "debit_submit": "Payer par prélèvement",
        "debit_currency": "Le prélèvement ne porte que sur ces devises : {currencies}.",
        "thanks_debit": (
            "Merci : votre prélèvement est autorisé ; les relances de ces "
            "factures sont suspendues dès que votre banque est sollicitée."
        ),
        "thanks_debit_paid": (
            "Ces factures sont déjà en cours de paiement par prélèvement : rien de plus à faire."
        ),
        "thanks_payment": "Merci : votre paiement est en cours de confirmation ; les "
        "relances de ces factures sont suspendues.",
        "provider_failed_title": "Paiement indisponible",
        "provider_failed_text": "Le service de paiement n'a pas répondu. Réessayez dans "
        "quelques minutes.",
        "page_title": "Votre compte",
        "skip": "Aller au contenu",
        "account_of": "Compte de {customer} auprès de {company}",
        "open_invoices": "Factures ouvertes",
        "currency_total": "Restant dû en {currency}",
        "overdue_total": "dont échu",
        "col_invoice": "Facture",
        "col_due": "Échéance",
        "col_open": "Restant dû",
        "col_status": "Statut",
        "status_due": "À échoir",
        "status_overdue": "En retard",
        "status_in_dispute": "En litige",
        "status_promised": "Paiement annoncé",
        "status_in_plan": "Dans un échéancier",
        "days_late": "{days} jours de retard",
        "promised_for": "pour le {date}",
        "nothing_open": "Aucune facture ouverte. Merci.",
        "received": "Reçu récemment",
        "cause_payment": "Paiement",
        "cause_credit_note": "Avoir",
        "nothing_received": "Rien reçu ces {days} derniers jours.",
        "promise_title": "Annoncer une date de paiement",
        "promise_help": "Choisissez les factures que vous réglerez et le jour du virement.",
        "field_invoices": "Factures",
        "field_date": "Date de paiement",
        "promise_submit": "Annoncer cette date",
        "dispute_title": "Signaler un problème sur des factures",
        "dispute_help": "Votre message est transmis au service qui peut le résoudre.",
        "field_category": "Nature du problème",
        "choose": "Choisir…",
        "category_commercial": "Conditions commerciales",
        "category_quality": "Qualité des produits ou du service",
        "category_delivery": "Livraison",
        "category_pricing": "Prix",
        "category_administrative": "Administratif (commande, adresse, références)",
        "category_accounting": "Comptabilité (déjà payé, avoir)",
        "field_message": "Votre message",
        "dispute_submit": "Envoyer",
        "thanks_promise": "Merci : votre date de paiement est enregistrée.",
        "thanks_dispute": "Merci : votre message a été transmis au service concerné.",
        "error_summary": "Merci de corriger les champs signalés ci-dessous.",
        "error_prefix": "Erreur :",
        "choose_invoices": "Choisissez au moins une facture.",
        "date_required": "Indiquez une date.",
        "date_invalid": "Ce n'est pas une date (format attendu : AAAA-MM-JJ).",
        "date_past": "La date ne peut pas être passée.",
        "date_too_far": "La date doit être dans les {days} jours.",
        "one_currency": "Choisissez des factures d'une seule devise.",
        "category_required": "Choisissez la nature du problème.",
        "message_required": "Écrivez un message.",
        "message_too_long": "Le message est trop long ({max} caractères au plus).",
        "expired_title": "Ce lien a expiré",
        "expired_text": "Demandez un nouveau lien en répondant à l'e-mail reçu.",
        "tampered_title": "Ce lien n'est pas valide",
        "tampered_text": "Vérifiez que le lien a été copié en entier, ou répondez à l'e-mail reçu.",
        "too_many": "Trop de demandes : merci de patienter une minute.",
        "too_large": "Ce formulaire est trop volumineux.",
        "not_found_title": "Compte indisponible",
        "not_found_text": "Ce compte ne peut pas encore être affiché. Réessayez plus tard.",
    },
    "de": {
        "field_attachments": "Dokumente (PDF, PNG oder JPEG; höchstens {count} Dateien zu {max} "
        "MB)",
        "attachments_again": "Wählen Sie Ihre Dokumente erneut: sie bleiben nicht erhalten, wenn "
        "das Formular zurückkommt.",
        "attachment_type": "{name} ist keine PDF-, PNG- oder JPEG-Datei.",
        "attachment_too_large": "{name} ist größer als {max} MB.",
        "attachment_too_many": "Höchstens {max} Dokumente anhängen.",
        "attachment_failed_title": "Dokumente nicht erhalten",
        "attachment_failed_text": "Ihre Dokumente konnten nicht gespeichert werden. Bitte in "
        "einigen Minuten erneut versuchen.",
        "copy_link": "Kopie der Rechnung {number} herunterladen",
        "copy_missing_title": "Kopie nicht verfügbar",
        "copy_missing_text": "Die Kopie dieser Rechnung wurde nicht gefunden. Antworten Sie auf "
        "die erhaltene E-Mail, um sie zu bekommen.",
        "copy_failed_title": "Kopie nicht verfügbar",
        "copy_failed_text": "Die Kopie konnte nicht abgerufen werden. Bitte in einigen Minuten "
        "erneut versuchen.",
        "callback_title": "Rückruf anfordern",
        "callback_help": "Hinterlassen Sie eine Nummer und eine Zeit: die für Ihr Konto "
        "zuständige Person ruft Sie an.",
        "field_phone": "Telefonnummer (international, z. B. +49 30 1234567)",
        "field_callback_date": "Tag",
        "field_slot": "Zeit",
        "slot_morning": "Vormittag (9 bis 12 Uhr)",
        "slot_afternoon": "Nachmittag (14 bis 17 Uhr)",
        "callback_submit": "Rückruf anfordern",
        "thanks_callback": "Danke: wir rufen Sie zur gewählten Zeit an.",
        "phone_required": "Geben Sie eine Telefonnummer ein.",
        "phone_invalid": "Geben Sie die Nummer international ein, mit + und der Ländervorwahl.",
        "slot_required": "Wählen Sie eine Zeit.",
        "too_many_to_pay": "Wählen Sie weniger Rechnungen: "
        "Bezahlen Sie die übrigen in einer zweiten Zahlung.",
        "pay_title": "Online bezahlen",
        "pay_help": "Bezahlen Sie die gewählten Rechnungen per Karte bei unserem "
        "Zahlungsdienstleister; danach kommen Sie hierher zurück.",
        "pay_submit": "Mit Karte bezahlen",
        "already_being_paid": "Diese Rechnungen werden bereits bezahlt: wählen Sie andere.",
        "vat_number": "USt-IdNr.",
        "company_identity": "Das rechnungsstellende Unternehmen",
        "debit_title": "Per Lastschrift bezahlen",
        "debit_help": (
            "Bezahlen Sie die gewählten Rechnungen per SEPA-Lastschrift von Ihrem"
            " Bankkonto: Sie geben Ihre IBAN an und erteilen das Mandat auf der "
            "Seite unseres Zahlungsdienstes, dann kommen Sie hierher zurück."
        ),
        "debit_submit": "Per Lastschrift bezahlen",
        "debit_currency": "Per Lastschrift werden nur diese Währungen eingezogen: {currencies}.",
        "thanks_debit": (
            "Vielen Dank: Ihre Lastschrift ist autorisiert; Mahnungen für diese "
            "Rechnungen ruhen, sobald Ihre Bank um die Zahlung gebeten wurde."
        ),
        "thanks_debit_paid": (
            "Diese Rechnungen werden bereits per Lastschrift bezahlt: Sie müssen nichts weiter tun."
        ),
        "thanks_payment": "Vielen Dank: Ihre Zahlung wird bestätigt; Mahnungen für "
        "diese Rechnungen ruhen.",
        "provider_failed_title": "Zahlung nicht verfügbar",
        "provider_failed_text": "Der Zahlungsdienst hat nicht geantwortet. Bitte versuchen "
        "Sie es in einigen Minuten erneut.",
        "page_title": "Ihr Konto",
        "skip": "Zum Inhalt springen",
        "account_of": "Konto von {customer} bei {company}",
        "open_invoices": "Offene Rechnungen",
        "currency_total": "Offen in {currency}",
        "overdue_total": "davon überfällig",
        "col_invoice": "Rechnung",
        "col_due": "Fälligkeit",
        "col_open": "Offener Betrag",
        "col_status": "Status",
        "status_due": "Fällig",
        "status_overdue": "Überfällig",
        "status_in_dispute": "Reklamiert",
        "status_promised": "Zahlung angekündigt",
        "status_in_plan": "In einem Ratenplan",
        "days_late": "{days} Tage überfällig",
        "promised_for": "zum {date}",
        "nothing_open": "Keine offene Rechnung. Vielen Dank.",
        "received": "Kürzlich erhalten",
        "cause_payment": "Zahlung",
        "cause_credit_note": "Gutschrift",
        "nothing_received": "In den letzten {days} Tagen nichts erhalten.",
        "promise_title": "Zahlungstermin ankündigen",
        "promise_help": "Wählen Sie die Rechnungen, die Sie bezahlen, und den Tag der Zahlung.",
        "field_invoices": "Rechnungen",
        "field_date": "Zahlungsdatum",
        "promise_submit": "Termin ankündigen",
        "dispute_title": "Ein Problem mit Rechnungen melden",
        "dispute_help": "Ihre Nachricht geht an das zuständige Team.",
        "field_category": "Art des Problems",
        "choose": "Bitte wählen…",
        "category_commercial": "Konditionen",
        "category_quality": "Qualität der Ware oder Leistung",
        "category_delivery": "Lieferung",
        "category_pricing": "Preis",
        "category_administrative": "Verwaltung (Bestellung, Adresse, Referenzen)",
        "category_accounting": "Buchhaltung (bereits bezahlt, Gutschrift)",
        "field_message": "Ihre Nachricht",
        "dispute_submit": "Senden",
        "thanks_promise": "Vielen Dank: Ihr Zahlungstermin ist erfasst.",
        "thanks_dispute": "Vielen Dank: Ihre Nachricht wurde an das zuständige Team gesendet.",
        "error_summary": "Bitte korrigieren Sie die unten markierten Felder.",
        "error_prefix": "Fehler:",
        "choose_invoices": "Wählen Sie mindestens eine Rechnung.",
        "date_required": "Geben Sie ein Datum ein.",
        "date_invalid": "Das ist kein Datum (erwartet: JJJJ-MM-TT).",
        "date_past": "Das Datum darf nicht in der Vergangenheit liegen.",
        "date_too_far": "Das Datum muss innerhalb von {days} Tagen liegen.",
        "one_currency": "Wählen Sie Rechnungen in nur einer Währung.",
        "category_required": "Wählen Sie die Art des Problems.",
        "message_required": "Schreiben Sie eine Nachricht.",
        "message_too_long": "Die Nachricht ist zu lang (höchstens {max} Zeichen).",
        "expired_title": "Dieser Link ist abgelaufen",
        "expired_text": "Fordern Sie einen neuen Link an, indem Sie auf die E-Mail antworten.",
        "tampered_title": "Dieser Link ist ungültig",
        "tampered_text": "Prüfen Sie, ob der Link vollständig kopiert wurde, oder antworten "
        "Sie auf die E-Mail.",
        "too_many": "Zu viele Anfragen: Bitte warten Sie eine Minute.",
        "too_large": "Dieses Formular ist zu groß.",
        "not_found_title": "Konto nicht verfügbar",
        "not_found_text": "Dieses Konto kann noch nicht angezeigt werden. Bitte später erneut "
        "versuchen.",
    },
    "es": {
        "field_attachments": "Documentos (PDF, PNG o JPEG; como máximo {count} archivos de {max} "
        "MB)",
        "attachments_again": "Vuelva a elegir sus documentos: no se conservan cuando el "
        "formulario vuelve.",
        "attachment_type": "{name} no es un archivo PDF, PNG o JPEG.",
        "attachment_too_large": "{name} supera {max} MB.",
        "attachment_too_many": "Adjunte como máximo {max} documentos.",
        "attachment_failed_title": "Documentos no recibidos",
        "attachment_failed_text": "No se pudieron guardar sus documentos. Inténtelo de nuevo en "
        "unos minutos.",
        "copy_link": "Descargar la copia de la factura {number}",
        "copy_missing_title": "Copia no disponible",
        "copy_missing_text": "No se encuentra la copia de esta factura. Responda al correo "
        "recibido para obtenerla.",
        "copy_failed_title": "Copia no disponible",
        "copy_failed_text": "No se pudo obtener la copia. Inténtelo de nuevo en unos minutos.",
        "callback_title": "Solicitar una llamada",
        "callback_help": "Deje un número y una franja horaria: la persona que lleva su cuenta le "
        "llamará.",
        "field_phone": "Teléfono (internacional, p. ej. +34 612 345 678)",
        "field_callback_date": "Día",
        "field_slot": "Franja horaria",
        "slot_morning": "Mañana (de 9:00 a 12:00)",
        "slot_afternoon": "Tarde (de 14:00 a 17:00)",
        "callback_submit": "Llámenme",
        "thanks_callback": "Gracias: le llamaremos en la franja elegida.",
        "phone_required": "Introduzca un número de teléfono.",
        "phone_invalid": "Introduzca el número en formato internacional, con + y el prefijo del "
        "país.",
        "slot_required": "Elija una franja horaria.",
        "too_many_to_pay": "Elija menos facturas: pague las demás en un segundo pago.",
        "pay_title": "Pagar en línea",
        "pay_help": "Pague las facturas elegidas con tarjeta en nuestro proveedor "
        "de pagos; después volverá aquí.",
        "pay_submit": "Pagar con tarjeta",
        "already_being_paid": "Estas facturas ya se están pagando: elija otras.",
        "vat_number": "NIF-IVA",
        "company_identity": "La empresa que factura",
        "debit_title": "Pagar por domiciliación",
        "debit_help": (
            "Pague las facturas elegidas por adeudo directo SEPA desde su cuenta "
            "bancaria: indique su IBAN y autorice el adeudo en la página de "
            "nuestro proveedor de pagos, y vuelva aquí."
        ),
        "debit_submit": "Pagar por domiciliación",
        "debit_currency": "La domiciliación solo cobra en estas monedas: {currencies}.",
        "thanks_debit": (
            "Gracias: su adeudo está autorizado; los recordatorios de estas "
            "facturas se suspenden en cuanto se solicite el pago a su banco."
        ),
        "thanks_debit_paid": (
            "Estas facturas ya se están pagando por domiciliación: no tiene que hacer nada más."
        ),
        "thanks_payment": "Gracias: su pago se está confirmando; los recordatorios de "
        "estas facturas quedan en pausa.",
        "provider_failed_title": "Pago no disponible",
        "provider_failed_text": "El servicio de pago no ha respondido. Inténtelo de nuevo en "
        "unos minutos.",
        "page_title": "Su cuenta",
        "skip": "Ir al contenido",
        "account_of": "Cuenta de {customer} con {company}",
        "open_invoices": "Facturas pendientes",
        "currency_total": "Pendiente en {currency}",
        "overdue_total": "de ello vencido",
        "col_invoice": "Factura",
        "col_due": "Vencimiento",
        "col_open": "Importe pendiente",
        "col_status": "Estado",
        "status_due": "Por vencer",
        "status_overdue": "Vencida",
        "status_in_dispute": "En disputa",
        "status_promised": "Pago anunciado",
        "status_in_plan": "En un plan de pagos",
        "days_late": "{days} días de retraso",
        "promised_for": "para el {date}",
        "nothing_open": "No hay facturas pendientes. Gracias.",
        "received": "Recibido recientemente",
        "cause_payment": "Pago",
        "cause_credit_note": "Nota de crédito",
        "nothing_received": "Nada recibido en los últimos {days} días.",
        "promise_title": "Anunciar una fecha de pago",
        "promise_help": "Elija las facturas que pagará y el día del pago.",
        "field_invoices": "Facturas",
        "field_date": "Fecha de pago",
        "promise_submit": "Anunciar esta fecha",
        "dispute_title": "Comunicar un problema con facturas",
        "dispute_help": "Su mensaje llega al equipo que puede resolverlo.",
        "field_category": "Tipo de problema",
        "choose": "Elegir…",
        "category_commercial": "Condiciones comerciales",
        "category_quality": "Calidad del producto o servicio",
        "category_delivery": "Entrega",
        "category_pricing": "Precio",
        "category_administrative": "Administrativo (pedido, dirección, referencias)",
        "category_accounting": "Contabilidad (ya pagado, nota de crédito)",
        "field_message": "Su mensaje",
        "dispute_submit": "Enviar",
        "thanks_promise": "Gracias: su fecha de pago ha quedado registrada.",
        "thanks_dispute": "Gracias: su mensaje se ha enviado al equipo correspondiente.",
        "error_summary": "Corrija los campos señalados a continuación.",
        "error_prefix": "Error:",
        "choose_invoices": "Elija al menos una factura.",
        "date_required": "Indique una fecha.",
        "date_invalid": "No es una fecha (formato: AAAA-MM-DD).",
        "date_past": "La fecha no puede ser pasada.",
        "date_too_far": "La fecha debe estar dentro de {days} días.",
        "one_currency": "Elija facturas de una sola moneda.",
        "category_required": "Elija el tipo de problema.",
        "message_required": "Escriba un mensaje.",
        "message_too_long": "El mensaje es demasiado largo ({max} caracteres como máximo).",
        "expired_title": "Este enlace ha caducado",
        "expired_text": "Pida un nuevo enlace respondiendo al correo recibido.",
        "tampered_title": "Este enlace no es válido",
        "tampered_text": "Compruebe que ha copiado el enlace completo o responda al correo "
        "recibido.",
        "too_many": "Demasiadas solicitudes: espere un minuto.",
        "too_large": "Este formulario es demasiado grande.",
        "not_found_title": "Cuenta no disponible",
        "not_found_text": "Esta cuenta aún no se puede mostrar. Inténtelo más tarde.",
    },
    "it": {
        "field_attachments": "Documenti (PDF, PNG o JPEG; al massimo {count} file da {max} MB)",
        "attachments_again": "Scelga di nuovo i documenti: non vengono conservati quando il "
        "modulo ritorna.",
        "attachment_type": "{name} non è un file PDF, PNG o JPEG.",
        "attachment_too_large": "{name} supera {max} MB.",
        "attachment_too_many": "Alleghi al massimo {max} documenti.",
        "attachment_failed_title": "Documenti non ricevuti",
        "attachment_failed_text": "Non è stato possibile salvare i documenti. Riprovi tra qualche "
        "minuto.",
        "copy_link": "Scarica la copia della fattura {number}",
        "copy_missing_title": "Copia non disponibile",
        "copy_missing_text": "La copia di questa fattura non è stata trovata. Risponda all'e-mail "
        "ricevuta per ottenerla.",
        "copy_failed_title": "Copia non disponibile",
        "copy_failed_text": "Non è stato possibile recuperare la copia. Riprovi tra qualche "
        "minuto.",
        "callback_title": "Chiedere di essere richiamati",
        "callback_help": "Lasci un numero e una fascia oraria: la persona che segue il suo conto "
        "la chiamerà.",
        "field_phone": "Numero di telefono (internazionale, es. +39 312 345 6789)",
        "field_callback_date": "Giorno",
        "field_slot": "Fascia oraria",
        "slot_morning": "Mattina (dalle 9 alle 12)",
        "slot_afternoon": "Pomeriggio (dalle 14 alle 17)",
        "callback_submit": "Richiamatemi",
        "thanks_callback": "Grazie: la chiameremo nella fascia scelta.",
        "phone_required": "Inserisca un numero di telefono.",
        "phone_invalid": "Inserisca il numero in formato internazionale, con + e il prefisso del "
        "paese.",
        "slot_required": "Scelga una fascia oraria.",
        "too_many_to_pay": "Scelga meno fatture: paghi le altre con un secondo pagamento.",
        "pay_title": "Paga online",
        "pay_help": "Paghi le fatture scelte con carta presso il nostro fornitore "
        "di pagamenti; poi tornerà qui.",
        "pay_submit": "Paga con carta",
        "already_being_paid": "Queste fatture sono già in corso di pagamento: ne scelga altre.",
        "vat_number": "Partita IVA",
        "company_identity": "La società che fattura",
        "debit_title": "Paga con addebito diretto",
        "debit_help": (
            "Paghi le fatture scelte con addebito diretto SEPA sul suo conto: "
            "indichi il suo IBAN e autorizzi l'addebito sulla pagina del nostro "
            "fornitore di pagamenti, poi torni qui."
        ),
        "debit_submit": "Paga con addebito diretto",
        "debit_currency": "L'addebito diretto incassa solo queste valute: {currencies}.",
        "thanks_debit": (
            "Grazie: il suo addebito è autorizzato; i solleciti di queste fatture"
            " sono sospesi appena la sua banca riceve la richiesta di pagamento."
        ),
        "thanks_debit_paid": (
            "Queste fatture sono già in corso di pagamento con addebito diretto: "
            "non deve fare altro."
        ),
        "thanks_payment": "Grazie: il pagamento è in corso di conferma; i solleciti di "
        "queste fatture sono sospesi.",
        "provider_failed_title": "Pagamento non disponibile",
        "provider_failed_text": "Il servizio di pagamento non ha risposto. Riprovi tra "
        "qualche minuto.",
        "page_title": "Il suo conto",
        "skip": "Vai al contenuto",
        "account_of": "Conto di {customer} presso {company}",
        "open_invoices": "Fatture aperte",
        "currency_total": "Aperto in {currency}",
        "overdue_total": "di cui scaduto",
        "col_invoice": "Fattura",
        "col_due": "Scadenza",
        "col_open": "Importo aperto",
        "col_status": "Stato",
        "status_due": "In scadenza",
        "status_overdue": "Scaduta",
        "status_in_dispute": "In contestazione",
        "status_promised": "Pagamento annunciato",
        "status_in_plan": "In un piano di rientro",
        "days_late": "{days} giorni di ritardo",
        "promised_for": "per il {date}",
        "nothing_open": "Nessuna fattura aperta. Grazie.",
        "received": "Ricevuto di recente",
        "cause_payment": "Pagamento",
        "cause_credit_note": "Nota di credito",
        "nothing_received": "Nulla ricevuto negli ultimi {days} giorni.",
        "promise_title": "Annunciare una data di pagamento",
        "promise_help": "Scelga le fatture che pagherà e il giorno del pagamento.",
        "field_invoices": "Fatture",
        "field_date": "Data di pagamento",
        "promise_submit": "Annuncia questa data",
        "dispute_title": "Segnalare un problema sulle fatture",
        "dispute_help": "Il suo messaggio arriva al servizio che può risolverlo.",
        "field_category": "Tipo di problema",
        "choose": "Scegliere…",
        "category_commercial": "Condizioni commerciali",
        "category_quality": "Qualità della merce o del servizio",
        "category_delivery": "Consegna",
        "category_pricing": "Prezzo",
        "category_administrative": "Amministrativo (ordine, indirizzo, riferimenti)",
        "category_accounting": "Contabilità (già pagato, nota di credito)",
        "field_message": "Il suo messaggio",
        "dispute_submit": "Invia",
        "thanks_promise": "Grazie: la data di pagamento è registrata.",
        "thanks_dispute": "Grazie: il messaggio è stato inviato al servizio competente.",
        "error_summary": "Corregga i campi indicati qui sotto.",
        "error_prefix": "Errore:",
        "choose_invoices": "Scelga almeno una fattura.",
        "date_required": "Indichi una data.",
        "date_invalid": "Non è una data (formato: AAAA-MM-GG).",
        "date_past": "La data non può essere passata.",
        "date_too_far": "La data deve essere entro {days} giorni.",
        "one_currency": "Scelga fatture in una sola valuta.",
        "category_required": "Scelga il tipo di problema.",
        "message_required": "Scriva un messaggio.",
        "message_too_long": "Il messaggio è troppo lungo (al massimo {max} caratteri).",
        "expired_title": "Questo link è scaduto",
        "expired_text": "Chieda un nuovo link rispondendo all'e-mail ricevuta.",
        "tampered_title": "Questo link non è valido",
        "tampered_text": "Verifichi di aver copiato il link completo, oppure risponda "
        "all'e-mail ricevuta.",
        "too_many": "Troppe richieste: attenda un minuto.",
        "too_large": "Questo modulo è troppo grande.",
        "not_found_title": "Conto non disponibile",
        "not_found_text": "Questo conto non può ancora essere mostrato. Riprovi più tardi.",
    },
}

for _language, _words in PLAN_WORDS.items():  # the payment plan form's words
    WORDS[_language].update(_words)
for _language, _words in OWNER_WORDS.items():  # the dispute owner's page
    WORDS[_language].update(_words)
for _language, _words in STATEMENT_WORDS.items():  # the account's statement (PDF)
    WORDS[_language].update(_words)
for _language, _words in TRANSFER_WORDS.items():  # paying by bank transfer
    WORDS[_language].update(_words)
