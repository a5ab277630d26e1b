"""A loopback stand-in for Stripe's Checkout Sessions API, answering as Stripe does.

``POST /v1/checkout/sessions`` (form-encoded, bracketed keys such as
``line_items[0][price_data][unit_amount]``): 401 without the expected secret key, 400 without
an ``Idempotency-Key`` (real Stripe accepts none; the portal must always send one); a key
seen before answers the first session again, or 400 ``idempotency_error`` if the parameters
differ; a key whose first request is still executing answers 409. ``created`` counts the
sessions really created. ``GET /c/pay/{id}`` is the hosted checkout page: a "Pay" link back
to the session's ``success_url``. ``completed_event`` and ``signature`` build the webhook
Stripe would send once the customer paid.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

SECRET_KEY = "sk_test_standin_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_standin_7f0c1e9d2b3a4c5d6e7f8091a2b3c4d5"


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracketed form keys as nested objects (numbered keys become lists)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listed(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [listed(node[k]) for k in sorted(node, key=int)]
            return {k: listed(v) for k, v in node.items()}
        return node

    return listed(root)  # type: ignore[no-any-return]


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class StripeStandIn:
    def __init__(self, processing_s: float = 0.3) -> None:
        self.base_url = ""  # set once served
        self.processing_s = processing_s
        self.sessions: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.requests = 0
        self._keys: dict[str, tuple[str, dict[str, Any] | None]] = {}

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/v1/checkout/sessions", self.create, methods=["POST"])
        router.add_api_route("/c/pay/{session_id}", self.hosted_page, methods=["GET"])
        return router

    async def create(self, request: Request) -> Response:
        self.requests += 1
        if request.headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        key = request.headers.get("idempotency-key")
        if not key:
            return _error(400, "invalid_request_error", "the stand-in wants an Idempotency-Key")
        body = (await request.body()).decode()
        if key in self._keys:
            first_body, answer = self._keys[key]
            if answer is None:
                return _error(409, "idempotency_error", "a request with this key is in progress")
            if first_body != body:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only "
                    "be used with the same parameters they were first used with.",
                )
            return JSONResponse(answer)
        self._keys[key] = (body, None)
        await asyncio.sleep(self.processing_s)  # a first request still executing
        params = _nested(parse_qsl(body, keep_blank_values=True))
        self.created += 1
        session_id = f"cs_test_standin{self.created:04d}"
        items = params.get("line_items", [])
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.base_url}/c/pay/{session_id}",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "currency": items[0]["price_data"]["currency"] if items else None,
            "amount_total": sum(
                int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in items
            ),
            "line_items": items,
        }
        self.sessions[session_id] = session
        answer = {k: v for k, v in session.items() if k != "line_items"}
        self._keys[key] = (body, answer)
        return JSONResponse(answer)

    async def hosted_page(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return HTMLResponse("<h1>No such session</h1>", status_code=404)
        return HTMLResponse(
            f"<!doctype html><title>Stripe Checkout stand-in</title>"
            f"<h1>Pay {session['amount_total']} {session['currency']}</h1>"
            f'<a href="{session["success_url"]}">Pay</a>'
        )

    def completed_event(self, session_id: str) -> bytes:
        """The ``checkout.session.completed`` event for a session paid by card."""
        session = dict(self.sessions[session_id], status="complete", payment_status="paid")
        session.pop("line_items", None)
        event = {
            "id": f"evt_{session_id}",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": session},
        }
        return json.dumps(event).encode()


def signature(payload: bytes, at: float | None = None, secret: str = WEBHOOK_SECRET) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``payload``."""
    timestamp = int(time.time() if at is None else at)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"
