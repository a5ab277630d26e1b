"""Loopback stand-ins for the two document stores of invoice copies.

:class:`DocumentServerStandIn`: the ERP's document server, ``GET /documents/{path}``, 401
without the expected bearer token, 404 for an unknown path. :class:`S3StandIn`: an
``PUT /documents/{path}`` stores a document (201). :class:`S3StandIn`: an
S3-compatible ``GetObject`` (path style, ``GET /{bucket}/{key}``), 403 ``SignatureDoesNotMatch``
unless the request is SigV4-signed with the expected access key for ``s3`` in the region,
404 ``NoSuchKey`` for an unknown key, as S3 answers. Both count the requests they served.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

TOKEN = "erp-documents-token-0123456789abcdef"
ACCESS_KEY = "AKIASTANDIN000000001"
SECRET_KEY = "standin/secret/key/0123456789abcdefghij"
REGION = "eu-west-3"
BUCKET = "invoices"

_SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/s3/aws4_request, "
    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$"
)


def _s3_error(status: int, code: str) -> Response:
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
    return Response(body, status_code=status, media_type="application/xml")


class DocumentServerStandIn:
    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.media_types: dict[str, str] = {}
        self.served = 0

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/documents/{path:path}", self.get, methods=["GET"])
        router.add_api_route("/documents/{path:path}", self.put, methods=["PUT"])
        return router

    async def put(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response("unauthorized", status_code=401)
        path = request.path_params["path"]
        self.documents[path] = await request.body()
        self.media_types[path] = request.headers.get("content-type", "")
        return Response(status_code=201)

    async def get(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response("unauthorized", status_code=401)
        body = self.documents.get(request.path_params["path"])
        if body is None:
            return Response("not found", status_code=404)
        self.served += 1
        return Response(body, media_type="application/pdf")


class S3StandIn:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.served = 0

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/{bucket}/{key:path}", self.get_object, methods=["GET"])
        return router

    async def get_object(self, request: Request) -> Response:
        signed = _SIGV4.match(request.headers.get("authorization", ""))
        if (
            signed is None
            or signed["key"] != ACCESS_KEY
            or signed["region"] != REGION
            or "x-amz-date" not in request.headers
        ):
            return _s3_error(403, "SignatureDoesNotMatch")
        if request.path_params["bucket"] != BUCKET:
            return _s3_error(404, "NoSuchBucket")
        body = self.objects.get(request.path_params["key"])
        if body is None:
            return _s3_error(404, "NoSuchKey")
        self.served += 1
        return Response(body, media_type="application/pdf")
