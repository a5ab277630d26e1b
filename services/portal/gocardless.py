"""The GoCardless adapter: SEPA direct debit through a Billing Request and its Flow.

Two calls, JSON, the access token as bearer and ``GoCardless-Version``:

1. ``POST {api_base}/billing_requests`` with a ``payment_request`` (the amount in minor
   units, the currency, a description made of the invoice numbers) and a
   ``mandate_request`` (the scheme, ``sepa_core``), both carrying ``metadata.relance_debit``
   (the debit's id). Its ``Idempotency-Key`` is the debit's id: GoCardless answers a key
   seen before with ``409 invalid_state`` / ``idempotent_creation_conflict`` and the id of
   the billing request the key created (``links.conflicting_resource_id``), which the
   adapter then reads (``GET /billing_requests/{id}``). A double click is one billing
   request, one payment.
2. ``POST {api_base}/billing_request_flows`` linking that billing request, with the
   ``redirect_uri`` (back to the account, with a notice) and the ``exit_uri`` (the
   account): its ``authorisation_url`` is GoCardless's hosted page where the customer gives
   their IBAN and authorises the mandate and the payment.

The webhook's events (``domain/direct_debit.py``) then say what became of the payment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.portal.domain.payment import minor_units
from services.portal.errors import ProviderFailed

TRANSFER_SCHEMES = {  # Instant Bank Pay's schemes and the currency each collects
    "faster_payments": ("GBP",),
    "sepa_credit_transfer": ("EUR",),
    "sepa_instant_credit_transfer": ("EUR",),
}


class GoCardlessSettings(BaseSettings):
    """GoCardless (``RELANCE_GOCARDLESS_*``); without an access token the portal offers no
    direct debit."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_GOCARDLESS_", extra="ignore")

    api_base: str = Field(
        default="https://api.gocardless.com",
        description="GoCardless's API (``https://api-sandbox.gocardless.com`` for the "
        "sandbox; a stand-in in tests).",
    )
    api_version: str = Field(default="2015-07-06", description="The ``GoCardless-Version``.")
    flow_origin: str = Field(
        default="https://pay.gocardless.com",
        description="Where the Billing Request Flow's pages are, allowed as a form target.",
    )
    access_token: SecretStr | None = Field(default=None, description="The API's access token.")
    webhook_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="The webhook endpoint's secrets, separated by commas (or a JSON list); "
        "two during a rotation.",
    )
    scheme: str = Field(default="sepa_core", description="The mandate's debit scheme.")
    currencies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("EUR",), description="The currencies the scheme collects, comma-separated."
    )
    bank_transfer: bool = Field(
        default=False,
        description='Offer "Pay by bank transfer": GoCardless Instant Bank Pay, a billing '
        "request with a payment request only (no mandate), approved in the payer's bank.",
    )
    transfer_schemes: dict[str, str] = Field(
        default_factory=lambda: {"GBP": "faster_payments"},
        description="Instant Bank Pay's scheme per currency (JSON): ``faster_payments`` for "
        "GBP; for EUR, where GoCardless offers it to the creditor (payers in Germany, France "
        "and Ireland), ``sepa_credit_transfer`` or ``sepa_instant_credit_transfer``.",
    )
    timeout_s: float = Field(default=10.0, gt=0)
    max_webhook_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest webhook body (250 events at most)."
    )

    @field_validator("webhook_secrets", "currencies", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return tuple(json.loads(value))
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("transfer_schemes")
    @classmethod
    def _transfer_schemes(cls, value: dict[str, str]) -> dict[str, str]:
        for currency, scheme in value.items():
            if scheme not in TRANSFER_SCHEMES or currency not in TRANSFER_SCHEMES[scheme]:
                known = ", ".join(f"{s} ({'/'.join(c)})" for s, c in TRANSFER_SCHEMES.items())
                raise ValueError(
                    f"{currency}: {scheme!r} is not an Instant Bank Pay scheme for it ({known})"
                )
        return value

    @model_validator(mode="after")
    def _webhooks_verifiable(self) -> GoCardlessSettings:
        if self.access_token is not None and not self.webhook_secrets:
            raise ValueError(
                "RELANCE_GOCARDLESS_ACCESS_TOKEN is set but RELANCE_GOCARDLESS_WEBHOOK_SECRETS "
                "is empty: no payment could be confirmed"
            )
        return self


@dataclass(frozen=True)
class DebitToStart:
    debit_id: str
    customer_id: str
    company_code: str
    invoice_numbers: Sequence[str]
    amount: Any  # Decimal
    currency: str
    language: str
    transfer: bool = False  # a bank transfer (Instant Bank Pay): no mandate


@dataclass(frozen=True)
class StartedDebit:
    billing_request_id: str
    authorisation_url: str


class GoCardlessDirectDebit:
    def __init__(self, settings: GoCardlessSettings, client: httpx.AsyncClient | None = None):
        if settings.access_token is None:
            raise ValueError("GoCardless needs RELANCE_GOCARDLESS_ACCESS_TOKEN")
        self.settings = settings
        self._token = settings.access_token
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)

    async def close(self) -> None:
        await self.client.aclose()

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "GoCardless-Version": self.settings.api_version,
            "Accept": "application/json",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _call(
        self, method: str, path: str, body: Any = None, idempotency_key: str | None = None
    ) -> httpx.Response:
        try:
            return await self.client.request(
                method,
                f"{self.settings.api_base.rstrip('/')}{path}",
                json=body,
                headers=self._headers(idempotency_key),
            )
        except httpx.HTTPError as exc:
            raise ProviderFailed(f"GoCardless could not be reached: {type(exc).__name__}") from exc

    async def start(self, debit: DebitToStart, redirect_uri: str, exit_uri: str) -> StartedDebit:
        """The billing request of ``debit`` (created once per debit id) and a new flow."""
        billing_request_id = await self._billing_request(debit)
        response = await self._call(
            "POST",
            "/billing_request_flows",
            {
                "billing_request_flows": {
                    "redirect_uri": redirect_uri,
                    "exit_uri": exit_uri,
                    "language": debit.language,
                    "links": {"billing_request": billing_request_id},
                }
            },
        )
        flow = _resource(response, "billing_request_flows", "the billing request flow")
        try:
            return StartedDebit(billing_request_id, str(flow["authorisation_url"]))
        except KeyError as exc:
            raise ProviderFailed("GoCardless's flow has no authorisation_url") from exc

    async def _billing_request(self, debit: DebitToStart) -> str:
        metadata = {"relance_debit": debit.debit_id}
        payment_request: dict[str, Any] = {
            "description": " ".join(debit.invoice_numbers)[:255],
            "amount": minor_units(debit.amount, debit.currency),
            "currency": debit.currency,
            "metadata": metadata,
        }
        billing_request: dict[str, Any] = {
            "payment_request": payment_request,
            "metadata": {
                **metadata,
                "customer": f"{debit.customer_id}/{debit.company_code}"[:500],
            },
        }
        if debit.transfer:  # Instant Bank Pay: the payment alone, approved in the bank
            payment_request["scheme"] = self.settings.transfer_schemes[debit.currency]
        else:
            billing_request["mandate_request"] = {
                "scheme": self.settings.scheme,
                "metadata": metadata,
            }
        response = await self._call(
            "POST",
            "/billing_requests",
            {"billing_requests": billing_request},
            idempotency_key=debit.debit_id,
        )
        conflicting = _conflicting_resource(response)
        if conflicting is not None:  # created by an earlier request with this key
            response = await self._call("GET", f"/billing_requests/{conflicting}")
        request = _resource(response, "billing_requests", "the billing request")
        try:
            return str(request["id"])
        except KeyError as exc:
            raise ProviderFailed("GoCardless's billing request has no id") from exc


def _conflicting_resource(response: httpx.Response) -> str | None:
    if response.status_code != 409:
        return None
    try:
        for error in response.json()["error"]["errors"]:
            if error.get("reason") == "idempotent_creation_conflict":
                return str(error["links"]["conflicting_resource_id"])
    except (ValueError, KeyError, TypeError):
        return None
    return None


def _resource(response: httpx.Response, name: str, what: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise ProviderFailed(f"GoCardless refused {what}: {_error_of(response)}")
    try:
        resource = response.json()[name]
        if not isinstance(resource, dict):
            raise TypeError(name)
        return resource
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderFailed(f"GoCardless's answer holds no {name}") from exc


def _error_of(response: httpx.Response) -> str:
    """GoCardless's error type and message (never the request, which carries the token)."""
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('type')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return str(response.status_code)
