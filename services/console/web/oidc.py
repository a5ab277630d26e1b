"""Signing in through the firm's identity provider: OpenID Connect's authorization code
flow with PKCE, for people who reach the console without the Gateway's bearer token.

``GET /sign-in/oidc`` sends the browser to the provider's authorization endpoint (found in
its discovery document) with a fresh ``state``, ``nonce`` and PKCE challenge, kept in a
short-lived cookie (HttpOnly, ``SameSite=Lax`` since the provider brings the browser back
from another site). ``GET /sign-in/oidc/callback`` checks the state, exchanges the code
at the token endpoint (with the client's secret and the PKCE verifier), verifies the ID
token with the kit's verifier (signature against the provider's keys, issuer, audience =
the console's client id, expiry) and its nonce, then opens the console's own session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.console.errors import SignInFailed
from services.runtime.auth import OidcVerifier
from services.runtime.identity import Identity, Unauthenticated


class OidcClientSettings(BaseSettings):
    """The console as a client of the identity provider (``RELANCE_CONSOLE_OIDC_*``); the
    provider itself is the installation's ``RELANCE_AUTH_OIDC_ISSUER``."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_CONSOLE_OIDC_", extra="ignore")

    client_id: str | None = Field(
        default=None,
        description="The console's client id at the provider; also the ID token's audience "
        "(set RELANCE_AUTH_OIDC_AUDIENCE to it).",
    )
    client_secret: SecretStr | None = None
    redirect_uri: str | None = Field(
        default=None,
        description="Where the provider sends the browser back: "
        "https://<the console>/sign-in/oidc/callback, registered at the provider; by default "
        "the address the browser used to reach the console.",
    )
    scope: str = "openid profile email"


@dataclass(frozen=True)
class Pending:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str

    def cookie(self) -> str:
        return ".".join((self.state, self.nonce, self.verifier))

    @classmethod
    def of(cls, cookie: str | None) -> Pending | None:
        parts = (cookie or "").split(".")
        return cls(*parts) if len(parts) == 3 and all(parts) else None


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def claims_of(verified_token: str) -> dict[str, Any]:
    """The claims of a JWT whose signature was already verified."""
    payload = verified_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


class OidcClient:
    def __init__(self, settings: OidcClientSettings, verifier: OidcVerifier) -> None:
        if not settings.client_id:
            raise ValueError("an OpenID Connect client needs a client id")
        self.settings = settings
        self.verifier = verifier
        self._endpoints: dict[str, str] | None = None

    async def _json(self, method: str, url: str, **options: Any) -> Any:
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, url, **options) as response,
            ):
                body = await response.read()
                if response.status >= 400:
                    raise SignInFailed(f"{url} answered {response.status}")
                return json.loads(body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SignInFailed(f"cannot reach {url}: {exc!r}") from exc

    async def endpoints(self) -> dict[str, str]:
        if self._endpoints is None:
            issuer = self.verifier.issuer
            found = await self._json("GET", f"{issuer}/.well-known/openid-configuration")
            try:
                self._endpoints = {
                    "authorization": str(found["authorization_endpoint"]),
                    "token": str(found["token_endpoint"]),
                }
            except (KeyError, TypeError) as exc:
                raise SignInFailed(f"the discovery document of {issuer} lacks {exc}") from exc
        return self._endpoints

    async def start(self, redirect_uri: str) -> tuple[str, Pending]:
        """The provider's URL to send the browser to, and what to keep until it returns."""
        pending = Pending(
            secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.settings.scope,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": challenge_of(pending.verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{(await self.endpoints())['authorization']}?{query}", pending

    async def finish(
        self, pending: Pending | None, state: str, code: str, redirect_uri: str
    ) -> Identity:
        """The identity of the person the provider sent back; raise Unauthenticated."""
        if pending is None or not hmac.compare_digest(pending.state.encode(), state.encode()):
            raise Unauthenticated("the sign-in's state does not match; start again")
        secret = self.settings.client_secret
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id or "",
            "code_verifier": pending.verifier,
        }
        if secret is not None:
            form["client_secret"] = secret.get_secret_value()
        tokens = await self._json("POST", (await self.endpoints())["token"], data=form)
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise Unauthenticated("the provider returned no ID token")
        identity = await self.verifier.verify(id_token)
        nonce = claims_of(id_token).get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode(), pending.nonce.encode()
        ):
            raise Unauthenticated("the ID token's nonce does not match this sign-in")
        return identity
