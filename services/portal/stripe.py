"""The Stripe Checkout adapter: creates a Checkout Session for chosen invoices.

``POST {api_base}/v1/checkout/sessions``, form-encoded as Stripe's API wants, with the
secret key as bearer and an ``Idempotency-Key`` (``domain/payment.py``): Stripe answers a
repeated key with the first session, so a double click is one payment (while the first
request is still in flight, Stripe answers the second 409, which is retried shortly). The
session carries the customer, the company and the invoices in its ``metadata``; the
webhook reads them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import httpx

from services.portal.domain.payment import minor_units
from services.portal.errors import ProviderFailed
from services.portal.settings import StripeSettings


@dataclass(frozen=True)
class InvoiceToPay:
    invoice_id: str
    invoice_number: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


class StripeCheckout:
    def __init__(
        self,
        settings: StripeSettings,
        client: httpx.AsyncClient | None = None,
        conflict_retries: int = 3,
        conflict_delay_s: float = 0.25,
    ) -> None:
        if settings.secret_key is None:
            raise ValueError("Stripe Checkout needs RELANCE_STRIPE_SECRET_KEY")
        self.settings = settings
        self._secret = settings.secret_key
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self.conflict_retries = conflict_retries
        self.conflict_delay_s = conflict_delay_s

    async def close(self) -> None:
        await self.client.aclose()

    async def create_session(
        self,
        *,
        customer_id: str,
        company_code: str,
        invoices: Sequence[InvoiceToPay],
        language: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession:
        params: list[tuple[str, str]] = [
            ("mode", "payment"),
            ("success_url", success_url),
            ("cancel_url", cancel_url),
            ("client_reference_id", f"{customer_id}/{company_code}"),
            ("locale", language),
            ("metadata[customer_id]", customer_id),
            ("metadata[company_code]", company_code),
            ("metadata[invoice_ids]", " ".join(i.invoice_id for i in invoices)),
            ("payment_intent_data[description]", " ".join(i.invoice_number for i in invoices)),
        ]
        for n, invoice in enumerate(invoices):
            item = f"line_items[{n}]"
            params += [
                (f"{item}[quantity]", "1"),
                (f"{item}[price_data][currency]", invoice.currency.lower()),
                (
                    f"{item}[price_data][unit_amount]",
                    str(minor_units(invoice.amount, invoice.currency)),
                ),
                (f"{item}[price_data][product_data][name]", invoice.invoice_number),
            ]
        for attempt in range(self.conflict_retries + 1):
            try:
                response = await self.client.post(
                    f"{self.settings.api_base.rstrip('/')}/v1/checkout/sessions",
                    data=dict(params),
                    headers={
                        "Authorization": f"Bearer {self._secret.get_secret_value()}",
                        "Idempotency-Key": idempotency_key,
                    },
                )
            except httpx.HTTPError as exc:
                raise ProviderFailed(f"Stripe could not be reached: {type(exc).__name__}") from exc
            # 409: the same key is still being processed (the first of a double click);
            # once it is done, Stripe answers the same key with the same session
            if response.status_code != 409 or attempt == self.conflict_retries:
                break
            await asyncio.sleep(self.conflict_delay_s * (attempt + 1))
        if response.status_code != 200:
            raise ProviderFailed(f"Stripe refused the checkout session: {_error_of(response)}")
        try:
            body = response.json()
            return CheckoutSession(session_id=str(body["id"]), url=str(body["url"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderFailed("Stripe's answer has no session id or url") from exc


def _error_of(response: httpx.Response) -> str:
    """Stripe's error type and message (never the request, which carries the key)."""
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('type')}: {error.get('message')}"
    except ValueError:
        return str(response.status_code)
