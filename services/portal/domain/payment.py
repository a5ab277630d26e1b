"""Paying online, the pure part: the idempotency key of a checkout, amounts in a
currency's minor units, the provider's webhook signature, and the payment it announces.

Stripe signs each webhook with a ``Stripe-Signature`` header ``t=<unix seconds>,v1=<hex>``
(several ``v1`` during a secret's rotation): the hex is HMAC-SHA256 of ``"{t}.{body}"`` under
the endpoint's secret. A signature that no ``v1`` matches, or whose ``t`` is further than the
tolerance from now (a replayed request), is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision

from services.portal.errors import PaymentRefused, SignatureRefused

KEY_NAMESPACE = uuid.UUID("0b7d4e52-3f1a-4c8e-a6d9-51e0c2f7b843")
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


def idempotency_key(
    customer_id: str, company_code: str, invoices: Sequence[tuple[str, Decimal]], link: str
) -> str:
    """The same customer, company, invoices (with their open amounts) and link give the same
    key, so a double click asks the provider for one session; a changed amount is a new
    checkout. The link is part of it because the session's return URLs carry it and the
    provider refuses a key reused with other parameters."""
    chosen = ",".join(f"{invoice_id}={amount}" for invoice_id, amount in sorted(invoices))
    digest = hashlib.sha256(link.encode()).hexdigest()[:16]
    return str(uuid.uuid5(KEY_NAMESPACE, f"{customer_id}/{company_code}/{chosen}/{digest}"))


def minor_units(amount: Decimal, currency: str) -> int:
    """``12.34 EUR`` → 1234, ``500 JPY`` → 500 (the currency's decimals, from CLDR)."""
    scaled = amount.scaleb(get_currency_precision(currency.upper()))
    if scaled != scaled.to_integral_value():
        raise PaymentRefused(f"{amount} {currency} has more decimals than the currency")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-get_currency_precision(currency.upper()))


def verify_signature(
    body: bytes, header: str | None, secrets: Sequence[str], now: datetime, tolerance_s: int
) -> None:
    """Raises :class:`SignatureRefused` unless one of ``secrets`` signed ``body`` within
    ``tolerance_s`` seconds of ``now``."""
    if not header:
        raise SignatureRefused("no Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureRefused("the Stripe-Signature header has no timestamp or no v1 signature")
    signed = f"{timestamp}.".encode() + body
    if not any(
        hmac.compare_digest(
            hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest(), signature
        )
        for secret in secrets
        for signature in signatures
    ):
        raise SignatureRefused("no v1 signature matches the payload")
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise SignatureRefused(f"the signature's timestamp is more than {tolerance_s} s from now")


@dataclass(frozen=True)
class AnnouncedPayment:
    """A payment the provider reports as made, for invoices of one customer and company."""

    session_id: str
    customer_id: str
    company_code: str
    invoice_ids: tuple[str, ...]
    amount: Decimal
    currency: str
    paid_on: date


def announced_payment(event: Mapping[str, Any], today: date) -> AnnouncedPayment | None:
    """The payment a verified webhook event announces; ``None`` for an event that announces
    none (another type, or a session not paid yet, such as a SEPA debit still pending).
    Raises :class:`PaymentRefused` for a paid session without the portal's metadata."""
    if event.get("type") not in PAID_EVENTS:
        return None
    session = event.get("data", {}).get("object", {})
    if session.get("object") != "checkout.session" or session.get("payment_status") != "paid":
        return None
    metadata = session.get("metadata") or {}
    try:
        invoice_ids = tuple(i for i in str(metadata["invoice_ids"]).split(" ") if i)
        customer_id = str(metadata["customer_id"])
        company_code = str(metadata["company_code"])
        currency = str(session["currency"]).upper()
        amount = from_minor_units(int(session["amount_total"]), currency)
        session_id = str(session["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentRefused(f"a paid checkout session without the portal's data: {exc}") from exc
    if not invoice_ids or amount <= 0:
        raise PaymentRefused(f"checkout session {session_id} names no invoice or no amount")
    return AnnouncedPayment(
        session_id=session_id,
        customer_id=customer_id,
        company_code=company_code,
        invoice_ids=invoice_ids,
        amount=amount,
        currency=currency,
        paid_on=today,
    )
