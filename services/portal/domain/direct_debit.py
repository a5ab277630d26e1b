"""Paying by direct debit (GoCardless), the pure part: the debit's keys, the webhook's
signature, and what each of GoCardless's events means for a debit the portal started.

GoCardless posts its events in batches, ``{"events": [...]}`` (up to 250), signed with a
``Webhook-Signature`` header: the hex HMAC-SHA256 of the raw body under the webhook
endpoint's secret (no timestamp: a redelivered batch is the same bytes and must be
harmless, which the debit's states make it). Each event names a ``resource_type``, an
``action`` and ``links`` to the resources concerned.

A debit's life, as the portal follows it:

- ``billing_requests`` ``fulfilled``: the customer authorised the mandate and the payment in
  the Billing Request Flow; the payment exists (``links.payment_request_payment``) but is
  not submitted to the banks yet. The debit is *fulfilled*: the customer has paid, as far
  as the portal is concerned, and is never offered to pay those invoices again.
- ``payments`` ``submitted``, ``confirmed``, ``paid_out``: the payment went to the banks (or
  was collected): announced to the disputes service (a ``payment_announced`` promise), once.
- ``payments`` ``failed``, ``cancelled``, ``charged_back``; ``billing_requests``
  ``cancelled``, ``failed``: the payment will not come. Announced already: the announcement
  fails (``promise.payment_failed``) and dunning resumes at once; otherwise nothing was
  announced and the next attempt on those invoices is a new debit.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from services.portal.domain.account import Account
from services.portal.domain.forms import Errors, FieldError, PaymentDecision, check_payment
from services.portal.errors import PaymentRefused, SignatureRefused

DEBIT_NAMESPACE = uuid.UUID("5e2f8c41-9a0d-4b7e-8c13-7d64a2e9f0b5")

Outcome = Literal["fulfilled", "announce", "fail", "ignore"]
ANNOUNCING = frozenset({"submitted", "confirmed", "paid_out"})
FAILING_PAYMENT = frozenset({"failed", "cancelled", "charged_back"})
FAILING_REQUEST = frozenset({"cancelled", "failed"})
PAID_STATES = frozenset({"fulfilled", "announced"})
"""A debit in these states is paid as far as the customer is concerned: never a second."""


def choice_key(customer_id: str, company_code: str, invoices: Sequence[tuple[str, Decimal]]) -> str:
    """The chosen invoices with their open amounts, for one customer and company: the same
    choice is the same debit (a double click, a second visit), whatever the link."""
    chosen = ",".join(f"{invoice_id}={amount}" for invoice_id, amount in sorted(invoices))
    return f"{customer_id}/{company_code}/{chosen}"


def debit_id(choice: str, attempt: int) -> uuid.UUID:
    """The debit's id, also the billing request's ``Idempotency-Key``: one per choice and
    attempt (a new attempt only after the previous one failed)."""
    return uuid.uuid5(DEBIT_NAMESPACE, f"{choice}#{attempt}")


def verify_webhook(body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Raises :class:`SignatureRefused` unless one of ``secrets`` signed ``body``."""
    if not header:
        raise SignatureRefused("no Webhook-Signature header")
    signature = header.strip().lower()
    if not any(
        hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), signature)
        for secret in secrets
    ):
        raise SignatureRefused("the Webhook-Signature does not match the body")


@dataclass(frozen=True)
class DebitEvent:
    """One of GoCardless's events, as far as a debit is concerned."""

    event_id: str
    outcome: Outcome
    billing_request_id: str | None
    payment_id: str | None
    debit_reference: str | None
    """``metadata.relance_debit`` of the resource, when GoCardless includes it."""
    reason: str


def _link(links: Mapping[str, Any], name: str) -> str | None:
    value = links.get(name)
    return str(value) if value else None


def debit_event(event: Mapping[str, Any]) -> DebitEvent:
    """What one event means; raises :class:`PaymentRefused` for one without its id, type or
    action (a verified batch that is not GoCardless's format)."""
    try:
        event_id = str(event["id"])
        resource = str(event["resource_type"])
        action = str(event["action"])
    except (KeyError, TypeError) as exc:
        raise PaymentRefused(f"an event without id, resource_type or action: {exc}") from exc
    links = event.get("links") or {}
    details = event.get("details") or {}
    metadata = event.get("resource_metadata") or event.get("metadata") or {}
    if not isinstance(links, Mapping) or not isinstance(details, Mapping):
        raise PaymentRefused(f"event {event_id}: links and details must be objects")
    reference = metadata.get("relance_debit") if isinstance(metadata, Mapping) else None
    cause = details.get("cause") or details.get("description") or ""
    outcome: Outcome = "ignore"
    if resource == "billing_requests" and action == "fulfilled":
        outcome = "fulfilled"
    elif resource == "billing_requests" and action in FAILING_REQUEST:
        outcome = "fail"
    elif resource == "payments" and action in ANNOUNCING:
        outcome = "announce"
    elif resource == "payments" and action in FAILING_PAYMENT:
        outcome = "fail"
    return DebitEvent(
        event_id=event_id,
        outcome=outcome,
        billing_request_id=_link(links, "billing_request"),
        payment_id=_link(links, "payment") or _link(links, "payment_request_payment"),
        debit_reference=str(reference) if reference else None,
        reason=f"{action}: {cause}"[:500] if cause else action,
    )


def debit_events(batch: object) -> list[DebitEvent]:
    """The events of a verified webhook body (``{"events": [...]}``)."""
    if not isinstance(batch, Mapping) or not isinstance(batch.get("events"), list):
        raise PaymentRefused('the webhook body is not {"events": [...]}')
    events = []
    for event in batch["events"]:
        if not isinstance(event, Mapping):
            raise PaymentRefused("an event is not a JSON object")
        events.append(debit_event(event))
    return events


def not_paid_twice(chosen: Sequence[str], being_paid: frozenset[str]) -> Errors:
    """Invoices a provider is already collecting (a debit the customer authorised, or a
    payment announced and not yet confirmed by the ERP) are not paid a second time, by
    debit or by card."""
    if being_paid.intersection(chosen):
        return {"invoice": FieldError("already_being_paid")}
    return {}


def check_debit(
    form: Mapping[str, Sequence[str]],
    account: Account,
    currencies: Sequence[str],
    error: str = "debit_currency",
) -> PaymentDecision | Errors:
    """The invoices chosen for a direct debit (or a bank transfer, ``error`` then naming
    it): as for a card payment, and in a currency the scheme collects (SEPA: euros)."""
    checked = check_payment(form, account)
    if isinstance(checked, PaymentDecision) and checked.currency not in currencies:
        return {"invoice": FieldError(error, {"currencies": ", ".join(currencies)})}
    return checked
