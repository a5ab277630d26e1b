"""A loopback OpenID Connect provider with the authorization code flow and PKCE: the
kit's test stand-in (discovery, JWKS, signed tokens) plus an authorization endpoint that
signs in one configured person at once and a token endpoint that checks the client, the
code, the redirect URI and the PKCE verifier."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc.jwk import KeySet

from services.console.web.oidc import challenge_of
from tests.identity_provider import IdentityProvider

CLIENT_ID = "relance-console"
CLIENT_SECRET = "console-secret-for-tests"


@dataclass
class Grant:
    redirect_uri: str
    nonce: str
    challenge: str


@dataclass
class Person:
    subject: str = "anna"
    roles: tuple[str, ...] = ("collector",)
    collector_codes: tuple[str, ...] = ("C12",)


class CodeFlowProvider(IdentityProvider):
    def __init__(self, now: float) -> None:
        super().__init__()
        self.now = now
        self.person = Person()
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, Any]] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        async def discovery() -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks() -> JSONResponse:
            return JSONResponse(KeySet(list(self.published)).as_dict(private=False))

        async def authorize(request: Request) -> Response:
            q = request.query_params
            if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(
                q["redirect_uri"], q.get("nonce", ""), q.get("code_challenge", "")
            )
            back = urlencode({"code": code, "state": q.get("state", "")})
            return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

        async def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            client_id: str = Form(),
            client_secret: str = Form(""),
            code_verifier: str = Form(""),
        ) -> JSONResponse:
            self.token_requests.append({"client_id": client_id, "verifier": code_verifier})
            grant = self.grants.pop(code, None)
            if (
                grant is None
                or grant_type != "authorization_code"
                or client_id != CLIENT_ID
                or client_secret != CLIENT_SECRET
                or redirect_uri != grant.redirect_uri
                or challenge_of(code_verifier) != grant.challenge
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            id_token = self.token(
                self.person.subject,
                self.person.roles,
                (),
                audience=CLIENT_ID,
                now=self.now,
                extra={
                    "nonce": grant.nonce,
                    "relance_collector_codes": list(self.person.collector_codes),
                },
            )
            return JSONResponse({"id_token": id_token, "token_type": "Bearer"})

        app.add_api_route("/.well-known/openid-configuration", discovery, methods=["GET"])
        app.add_api_route("/jwks", jwks, methods=["GET"])
        app.add_api_route("/authorize", authorize, methods=["GET"])
        app.add_api_route("/token", token, methods=["POST"])
        return app
