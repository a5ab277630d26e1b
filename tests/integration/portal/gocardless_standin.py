"""A loopback stand-in for GoCardless's Billing Requests API, answering as GoCardless does.

``POST /billing_requests`` (JSON, ``{"billing_requests": {...}}``): 401 without the
expected access token, 400 without ``GoCardless-Version``; a payment request's amount must
be a positive integer (minor units) in a currency its scheme collects (EUR for
``sepa_core``), else 422 ``validation_failed``. An ``Idempotency-Key`` seen before answers
409 ``invalid_state`` with an error of reason ``idempotent_creation_conflict`` linking the
billing request the key created (``links.conflicting_resource_id``); a key whose first
request is still executing waits for it, then answers the same. ``created`` counts the
billing requests really created. ``GET /billing_requests/{id}`` reads one.
``POST /billing_request_flows`` links a billing request (422 unknown) and answers the
flow's ``authorisation_url``: ``GET /flow/{id}`` is the hosted page, whose "Authorise"
link fulfils the billing request (a mandate and a payment, ``pending_submission``) and
returns to the flow's ``redirect_uri``. A billing request with a payment request only (no
``mandate_request``) is a bank transfer (Instant Bank Pay): its payment request's scheme
must collect its currency (``faster_payments``: GBP; ``sepa_credit_transfer``,
``sepa_instant_credit_transfer``: EUR), and fulfilling it makes a payment and no mandate.
``webhook`` builds a signed batch of events as
GoCardless would post it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

ACCESS_TOKEN = "sandbox_standin_Zm9yLXRlc3RzLW9ubHktNGVDMzlIcUx5"
WEBHOOK_SECRET = "gc-standin-webhook-secret-8d2f1c0b7a6e5d4c"
SCHEME_CURRENCIES = {"sepa_core": {"EUR"}, "bacs": {"GBP"}}
TRANSFER_SCHEMES = {
    "faster_payments": {"GBP"},
    "sepa_credit_transfer": {"EUR"},
    "sepa_instant_credit_transfer": {"EUR"},
}


def _error(status: int, kind: str, message: str, errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "code": status, "message": message, "errors": errors}},
        status_code=status,
    )


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The ``Webhook-Signature`` GoCardless sends with ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class GoCardlessStandIn:
    def __init__(self, processing_s: float = 0.2) -> None:
        self.base_url = ""  # set once served
        self.processing_s = processing_s
        self.billing_requests: dict[str, dict[str, Any]] = {}
        self.flows: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.requests = 0
        self._keys: dict[str, asyncio.Future[str]] = {}
        self._events = 0

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/billing_requests", self.create_request, methods=["POST"])
        router.add_api_route("/billing_requests/{request_id}", self.read_request, methods=["GET"])
        router.add_api_route("/billing_request_flows", self.create_flow, methods=["POST"])
        router.add_api_route("/flow/{flow_id}", self.hosted_page, methods=["GET"])
        router.add_api_route("/flow/{flow_id}/authorise", self.authorise, methods=["GET"])
        return router

    def _refused(self, request: Request) -> Response | None:
        self.requests += 1
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return _error(
                401,
                "invalid_api_usage",
                "Invalid token",
                [{"reason": "invalid_token", "message": "Invalid token"}],
            )
        if not request.headers.get("gocardless-version"):
            return _error(
                400,
                "invalid_api_usage",
                "GoCardless-Version header missing",
                [{"reason": "missing_version_header", "message": "version header missing"}],
            )
        return None

    async def create_request(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        key = request.headers.get("idempotency-key")
        if key and key in self._keys:
            existing = await asyncio.shield(self._keys[key])
            return _error(
                409,
                "invalid_state",
                "A resource has already been created with this idempotency key",
                [
                    {
                        "reason": "idempotent_creation_conflict",
                        "message": "A resource has already been created with this idempotency key",
                        "links": {"conflicting_resource_id": existing},
                    }
                ],
            )
        body = (await request.json())["billing_requests"]
        payment = body.get("payment_request") or {}
        mandate = body.get("mandate_request")
        if mandate is None:  # Instant Bank Pay: the payment request names its scheme
            scheme = str(payment.get("scheme"))
            collects = TRANSFER_SCHEMES.get(scheme, set())
        else:
            scheme = str(mandate.get("scheme"))
            collects = SCHEME_CURRENCIES.get(scheme, set())
        amount, currency = payment.get("amount"), payment.get("currency")
        if not isinstance(amount, int) or amount <= 0:
            return _error(
                422,
                "validation_failed",
                "Validation failed",
                [{"field": "amount", "message": "must be a positive integer in minor units"}],
            )
        if currency not in collects:
            return _error(
                422,
                "validation_failed",
                "Validation failed",
                [{"field": "currency", "message": f"{scheme} does not collect {currency}"}],
            )
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if key:
            self._keys[key] = future
        await asyncio.sleep(self.processing_s)  # a first request still executing
        self.created += 1
        request_id = f"BRQ000STANDIN{self.created:03d}"
        self.billing_requests[request_id] = {
            "id": request_id,
            "status": "pending",
            "metadata": body.get("metadata", {}),
            "payment_request": {**payment, "scheme": scheme},
            "mandate_request": body.get("mandate_request"),
            "links": {},
        }
        future.set_result(request_id)
        return JSONResponse({"billing_requests": self.billing_requests[request_id]}, 201)

    async def read_request(self, request_id: str, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        if request_id not in self.billing_requests:
            return _error(404, "invalid_api_usage", "Resource not found", [])
        return JSONResponse({"billing_requests": self.billing_requests[request_id]})

    async def create_flow(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = (await request.json())["billing_request_flows"]
        request_id = body.get("links", {}).get("billing_request")
        if request_id not in self.billing_requests:
            return _error(
                422,
                "validation_failed",
                "Validation failed",
                [{"field": "billing_request", "message": "not found"}],
            )
        flow_id = f"BRF000STANDIN{len(self.flows) + 1:03d}"
        self.flows[flow_id] = {
            "id": flow_id,
            "authorisation_url": f"{self.base_url}/flow/{flow_id}",
            "redirect_uri": body.get("redirect_uri"),
            "exit_uri": body.get("exit_uri"),
            "language": body.get("language"),
            "links": {"billing_request": request_id},
        }
        return JSONResponse({"billing_request_flows": self.flows[flow_id]}, 201)

    async def hosted_page(self, flow_id: str) -> Response:
        flow = self.flows.get(flow_id)
        if flow is None:
            return HTMLResponse("<h1>No such flow</h1>", status_code=404)
        billing_request = self.billing_requests[flow["links"]["billing_request"]]
        payment = billing_request["payment_request"]
        return HTMLResponse(
            "<!doctype html><title>GoCardless stand-in</title>"
            f"<h1>{'Direct debit' if billing_request['mandate_request'] else 'Bank transfer'}"
            f" of {payment['amount']} {payment['currency']}</h1>"
            f'<label>IBAN <input name="iban" value="FR1420041010050500013M02606"></label>'
            f'<a href="/flow/{flow_id}/authorise">Authorise</a> '
            f'<a href="{flow["exit_uri"]}">Exit</a>'
        )

    async def authorise(self, flow_id: str) -> Response:
        flow = self.flows[flow_id]
        self.fulfil(flow["links"]["billing_request"])
        return RedirectResponse(flow["redirect_uri"], 303)

    def fulfil(self, request_id: str) -> str:
        """The payer authorised: a mandate and a payment exist; the payment's id."""
        billing_request = self.billing_requests[request_id]
        if billing_request["status"] != "fulfilled":
            number = request_id[-3:]
            billing_request["status"] = "fulfilled"
            billing_request["links"] = {"payment_request_payment": f"PM000STANDIN{number}"}
            if billing_request["mandate_request"] is not None:
                billing_request["links"]["mandate_request_mandate"] = f"MD000STANDIN{number}"
        return str(billing_request["links"]["payment_request_payment"])

    def event(
        self, resource_type: str, action: str, request_id: str, **details: str
    ) -> dict[str, Any]:
        """One event as GoCardless shapes it, about ``request_id`` or its payment."""
        self._events += 1
        billing_request = self.billing_requests[request_id]
        links: dict[str, str] = {}
        if resource_type == "billing_requests":
            links = {"billing_request": request_id, **billing_request["links"]}
        else:
            links = {"payment": billing_request["links"]["payment_request_payment"]}
        return {
            "id": f"EV000STANDIN{self._events:04d}",
            "created_at": "2026-03-02T09:00:00.000Z",
            "resource_type": resource_type,
            "action": action,
            "links": links,
            "details": {"origin": "gocardless", **details},
            "metadata": {},
            "resource_metadata": billing_request["payment_request"].get("metadata", {}),
        }

    @staticmethod
    def webhook(
        *events: dict[str, Any], secret: str = WEBHOOK_SECRET
    ) -> tuple[bytes, dict[str, str]]:
        """A batch of events, its body and headers as GoCardless posts them."""
        body = json.dumps({"events": list(events)}).encode()
        return body, {
            "Webhook-Signature": signature(body, secret),
            "Content-Type": "application/json",
            "Origin": "https://api.gocardless.com",
            "User-Agent": "gocardless-webhook-service/1.1",
        }
