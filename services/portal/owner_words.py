"""The words of a dispute owner's page, in the portal's five languages; merged into
:data:`services.portal.i18n.WORDS`."""

from __future__ import annotations

OWNER_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "owner_title": "Dispute to solve",
        "owner_dispute": "What the customer says",
        "owner_due": "To solve by",
        "owner_state_open": "Open",
        "owner_state_resolved": "Resolved",
        "owner_attachments": "Documents the customer attached",
        "owner_no_attachments": "The customer attached no document.",
        "owner_not_found": "This dispute cannot be shown yet. Please try again later.",
        "owner_attachment_missing": "This document cannot be found.",
    },
    "fr": {
        "owner_title": "Litige à traiter",
        "owner_dispute": "Ce que dit le client",
        "owner_due": "À traiter avant le",
        "owner_state_open": "Ouvert",
        "owner_state_resolved": "Résolu",
        "owner_attachments": "Documents joints par le client",
        "owner_no_attachments": "Le client n'a joint aucun document.",
        "owner_not_found": "Ce litige ne peut pas encore être affiché. Réessayez plus tard.",
        "owner_attachment_missing": "Ce document est introuvable.",
    },
    "de": {
        "owner_title": "Zu klärende Reklamation",
        "owner_dispute": "Was der Kunde sagt",
        "owner_due": "Zu klären bis",
        "owner_state_open": "Offen",
        "owner_state_resolved": "Geklärt",
        "owner_attachments": "Vom Kunden beigefügte Dokumente",
        "owner_no_attachments": "Der Kunde hat kein Dokument beigefügt.",
        "owner_not_found": "Diese Reklamation kann noch nicht angezeigt werden. Bitte "
        "versuchen Sie es später erneut.",
        "owner_attachment_missing": "Dieses Dokument ist nicht auffindbar.",
    },
    "es": {
        "owner_title": "Reclamación por resolver",
        "owner_dispute": "Lo que dice el cliente",
        "owner_due": "Por resolver antes del",
        "owner_state_open": "Abierta",
        "owner_state_resolved": "Resuelta",
        "owner_attachments": "Documentos adjuntados por el cliente",
        "owner_no_attachments": "El cliente no adjuntó ningún documento.",
        "owner_not_found": "Esta reclamación aún no puede mostrarse. Inténtelo más tarde.",
        "owner_attachment_missing": "Este documento no se encuentra.",
    },
    "it": {
        "owner_title": "Contestazione da risolvere",
        "owner_dispute": "Cosa dice il cliente",
        "owner_due": "Da risolvere entro il",
        "owner_state_open": "Aperta",
        "owner_state_resolved": "Risolta",
        "owner_attachments": "Documenti allegati dal cliente",
        "owner_no_attachments": "Il cliente non ha allegato documenti.",
        "owner_not_found": "Questa contestazione non può ancora essere mostrata. Riprovi più "
        "tardi.",
        "owner_attachment_missing": "Questo documento non si trova.",
    },
}
