"""An OpenID Connect identity provider on loopback, for tests.

It serves ``/.well-known/openid-configuration`` and a JWKS over real HTTP (uvicorn, as the
services do), and signs tokens with an RSA key made by ``cryptography``. Tokens can be
issued valid, expired, for another audience or issuer, signed by a key it does not publish
(forged), or naming a key id it does not know, so that tests see a service refuse each.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from services.runtime.health import HttpServer

AUDIENCE = "relance-api"


def rsa_key(kid: str) -> RSAKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return RSAKey.import_key(pem, {"kid": kid, "use": "sig", "alg": "RS256"})


class IdentityProvider:
    def __init__(self) -> None:
        self.key = rsa_key("idp-1")
        self.published: list[RSAKey] = [self.key]
        self.issuer = ""
        self.discovery_requests = 0
        self.jwks_requests = 0
        self._server: HttpServer | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        async def discovery() -> JSONResponse:
            self.discovery_requests += 1
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.issuer}/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks() -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse(KeySet(list(self.published)).as_dict(private=False))

        app.add_api_route("/.well-known/openid-configuration", discovery, methods=["GET"])
        app.add_api_route("/jwks", jwks, methods=["GET"])
        return app

    async def start(self) -> None:
        self._server = HttpServer(self.app(), "127.0.0.1", 0)
        await self._server.start()
        self.issuer = f"http://127.0.0.1:{self._server.port}"

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    def token(
        self,
        subject: str = "anna",
        roles: tuple[str, ...] = ("collector",),
        company_codes: tuple[str, ...] = ("FR01",),
        *,
        audience: str = AUDIENCE,
        issuer: str | None = None,
        lifetime_s: int = 300,
        now: float | None = None,
        key: RSAKey | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        signer = key or self.key
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "sub": subject,
            "name": subject.title(),
            "roles": list(roles),
            "relance_company_codes": list(company_codes),
            "iat": issued,
            "exp": issued + lifetime_s,
            **(extra or {}),
        }
        return jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer)


@asynccontextmanager
async def identity_provider() -> AsyncIterator[IdentityProvider]:
    provider = IdentityProvider()
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()
