"""The proof archive, read back: every delivery about an invoice, and the exact bytes sent.

``GET /invoices/{invoice_id}/deliveries`` lists the deliveries that named the invoice
(``invoice_id`` URL-encoded, e.g. ``FR01%2FINV-1``), with recipients, provider ids, the
content's SHA-256, each attempt's timestamps and outcome, and the provider's reports.
``GET /deliveries/{delivery_id}/content`` returns the exact message or PDF sent, and
``GET /deliveries/{delivery_id}/documents/{kind}`` what the provider returned afterwards: a
letter's ``deposit_proof``, a registered letter's ``acknowledgement_of_receipt``.

These are exact messages and letters with personal data: every route needs the role
``collector`` and a portfolio covering the company of the invoices concerned (a credit
manager or an administrator without a portfolio sees all); a viewer is refused.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from services.notifier import queries
from services.runtime.auth import Authenticator, guarded_router
from services.runtime.database import Pool
from services.runtime.identity import Identity, authorize_invoices

MEDIA_TYPES = {"email": "message/rfc822", "sms": "application/json"}


def _instant(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class ProofArchive:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def routes(self, auth: Authenticator) -> APIRouter:
        router = guarded_router()
        collector: Identity = Depends(auth.require("collector"))

        async def deliveries(request: Request, identity: Identity = collector) -> Response:
            return await self.deliveries_route(request, identity)

        async def content(request: Request, identity: Identity = collector) -> Response:
            return await self.content_route(request, identity)

        async def document(request: Request, identity: Identity = collector) -> Response:
            return await self.document_route(request, identity)

        # invoice ids hold slashes (FR01/INV-1), sent as %2F and decoded before routing
        router.add_api_route("/invoices/{invoice_id:path}/deliveries", deliveries, methods=["GET"])
        router.add_api_route("/deliveries/{delivery_id}/content", content, methods=["GET"])
        router.add_api_route(
            "/deliveries/{delivery_id}/documents/{kind}", document, methods=["GET"]
        )
        return router

    async def _authorize_delivery(self, identity: Identity, delivery_id: uuid.UUID) -> bool:
        """False when there is no such delivery; raises Refused outside the portfolio."""
        invoice_ids = await self.pool.fetchval(queries.INVOICES_OF_DELIVERY, delivery_id)
        if invoice_ids is None:
            return False
        authorize_invoices(identity, invoice_ids)
        return True

    async def deliveries_of(self, invoice_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(queries.DELIVERIES_OF_INVOICE, invoice_id)
        ids = [r["delivery_id"] for r in rows]
        attempts: defaultdict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for a in await self.pool.fetch(queries.ATTEMPTS_OF, ids):
            attempts[a["delivery_id"]].append(
                {
                    "attempt": a["attempt"],
                    "started_at": _instant(a["started_at"]),
                    "finished_at": _instant(a["finished_at"]),
                    "outcome": a["outcome"],
                    "detail": a["detail"],
                }
            )
        reports: defaultdict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for r in await self.pool.fetch(queries.REPORTS_OF, ids):
            reports[r["delivery_id"]].append(
                {"status": r["status"], "received_at": _instant(r["received_at"])}
            )
        documents: defaultdict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for d in await self.pool.fetch(queries.DOCUMENTS_OF, ids):
            documents[d["delivery_id"]].append(
                {
                    "kind": d["kind"],
                    "sha256": d["sha256"],
                    "received_at": _instant(d["received_at"]),
                }
            )
        return [
            {
                "delivery_id": str(r["delivery_id"]),
                "reminder_id": str(r["reminder_id"]),
                "channel": r["channel"],
                "status": r["status"],
                "recipients": list(r["recipients"] or ()),
                "provider": r["provider"],
                "provider_tracking_id": r["provider_tracking_id"],
                "provider_reply": r["provider_reply"],
                "content_sha256": r["content_sha256"],
                "invoice_ids": list(r["invoice_ids"]),
                "last_error": r["last_error"],
                "created_at": _instant(r["created_at"]),
                "updated_at": _instant(r["updated_at"]),
                "attempts": attempts[r["delivery_id"]],
                "reports": reports[r["delivery_id"]],
                "documents": documents[r["delivery_id"]],
            }
            for r in rows
        ]

    async def deliveries_route(self, request: Request, identity: Identity) -> Response:
        invoice_id = request.path_params["invoice_id"]
        authorize_invoices(identity, [invoice_id])
        deliveries = await self.deliveries_of(invoice_id)
        return JSONResponse({"deliveries": deliveries})

    async def content_route(self, request: Request, identity: Identity) -> Response:
        try:
            delivery_id = uuid.UUID(request.path_params["delivery_id"])
        except ValueError:
            return JSONResponse({"error": "not a delivery id"}, status_code=400)
        if not await self._authorize_delivery(identity, delivery_id):
            return JSONResponse({"error": f"no content for {delivery_id}"}, status_code=404)
        row = await self.pool.fetchrow(queries.CONTENT_OF, delivery_id)
        if row is None or row["content"] is None:
            return JSONResponse({"error": f"no content for {delivery_id}"}, status_code=404)
        return Response(
            bytes(row["content"]),
            media_type=MEDIA_TYPES.get(row["channel"], "application/pdf"),
            headers={"X-Content-SHA256": row["content_sha256"]},
        )

    async def document_route(self, request: Request, identity: Identity) -> Response:
        try:
            delivery_id = uuid.UUID(request.path_params["delivery_id"])
        except ValueError:
            return JSONResponse({"error": "not a delivery id"}, status_code=400)
        kind = request.path_params["kind"]
        if not await self._authorize_delivery(identity, delivery_id):
            return JSONResponse({"error": f"no {kind} for {delivery_id}"}, status_code=404)
        row = await self.pool.fetchrow(queries.DOCUMENT, delivery_id, kind)
        if row is None:
            return JSONResponse({"error": f"no {kind} for {delivery_id}"}, status_code=404)
        return Response(
            bytes(row["content"]),
            media_type="application/octet-stream",
            headers={"X-Content-SHA256": row["sha256"]},
        )
