"""Authentication and authorization for every service's HTTP routes (FastAPI dependencies).

A request presents one credential:

- ``Authorization: Bearer <JWT>`` issued by the firm's OpenID Connect provider (an access
  or ID token), verified against the provider's keys found through its discovery document
  (issuer, audience, expiry, signature); roles and portfolio come from configurable claims;
- ``Authorization: Bearer <JWT>`` issued by ``POST /auth/sign-in`` for a local account
  (small installations: a users file with argon2 hashes), signed by the installation's own
  keys (HS256, with a key id so that keys can be rotated);
- ``X-API-Key: <key>`` (or ``Authorization: Bearer <key>``) for a machine.

Use :meth:`Authenticator.require` as a route dependency (it returns the :class:`Identity`),
then :func:`services.runtime.identity.authorize` for the resource's portfolio. A missing or
invalid credential is answered ``401`` with ``WWW-Authenticate: Bearer``; a refusal ``403``
with ``{"error": "forbidden", "reason": ..., "detail": ...}``, counted in
``relance_authorization_refusals_total{service,route,reason}``. Routers get that treatment
from :func:`guarded_router`; a whole application from :func:`install`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.clock import Clock
from services.runtime.errors import ConfigurationError
from services.runtime.identity import (
    EVERYTHING,
    LOCAL_ISSUER,
    ROLES,
    AuthError,
    Identity,
    LocalAccount,
    LocalTokens,
    Portfolio,
    Refused,
    Role,
    SignInLimiter,
    SignInThrottled,
    Unauthenticated,
    UsersFile,
    check_password,
    claim,
    parse_signing_keys,
    require_role,
    roles_of,
    unverified_issuer,
)
from services.runtime.logs import get_logger

log = get_logger(__name__)

REFUSALS = Counter(
    "relance_authorization_refusals_total",
    "Requests refused by authorization (403), by route and reason (role, portfolio, scope).",
    ["service", "route", "reason"],
)
SIGN_INS = Counter(
    "relance_sign_ins_total",
    "Local sign-ins, by outcome (signed_in, refused, throttled).",
    ["service", "outcome"],
)


class IdentityProviderUnavailable(AuthError):
    """The identity provider's discovery document or keys could not be fetched."""


class AuthSettings(BaseSettings):
    """How people and machines prove who they are (environment prefix ``RELANCE_AUTH_``),
    shared by every service of an installation."""

    model_config = SettingsConfigDict(env_prefix="RELANCE_AUTH_", extra="ignore")

    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID Connect issuer URL (its /.well-known/openid-configuration "
        "names the JWKS); tokens must carry exactly this `iss`.",
    )
    oidc_audience: str | None = Field(
        default=None, description="The `aud` tokens must carry (the client id or API name)."
    )
    oidc_algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    subject_claim: str = "sub"
    name_claim: str = "name"
    roles_claim: str = Field(
        default="roles", description="Dotted path to the roles, e.g. `realm_access.roles`."
    )
    role_map: dict[str, Role] = Field(
        default_factory=dict,
        description="The identity provider's group or role names mapped to Relance's roles; "
        "Relance's own role names are always understood.",
    )
    company_codes_claim: str = "relance_company_codes"
    collector_codes_claim: str = "relance_collector_codes"
    segments_claim: str = "relance_segments"
    jwks_refresh_min_s: float = Field(
        default=60.0, ge=0, description="An unknown key id refetches the JWKS at most this often."
    )
    clock_leeway_s: int = Field(default=30, ge=0, le=300)
    users_file: Path | None = Field(
        default=None, description="Local accounts (YAML, argon2 hashes); enables sign-in."
    )
    signing_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Keys signing local tokens, `kid:secret,kid:secret` (32+ characters); "
        "the first signs, all verify: add a new key first to rotate, drop the old one later.",
    )
    token_lifetime_s: int = Field(default=900, ge=60, le=86_400)
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_s: float = Field(default=300.0, gt=0)
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Machine keys, `role:name:key,...` (roles: viewer, collector, "
        "credit_manager, administrator; keys of 24+ characters).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AuthSettings:
        if bool(self.oidc_issuer) != bool(self.oidc_audience):
            raise ValueError("RELANCE_AUTH_OIDC_ISSUER and RELANCE_AUTH_OIDC_AUDIENCE go together")
        if self.users_file is not None and not self.signing_keys.get_secret_value():
            raise ValueError("RELANCE_AUTH_USERS_FILE needs RELANCE_AUTH_SIGNING_KEYS")
        return self


def parse_api_keys(text: str) -> dict[str, Identity]:
    """``role:name:key,...`` as {key: machine identity}; raises ValueError on a bad entry."""
    keys: dict[str, Identity] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        role, _, rest = entry.partition(":")
        name, _, secret = rest.partition(":")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} in an API key; expected one of {ROLES}")
        if not name or len(secret) < 24:
            raise ValueError(f"the API key {role}:{name or '?'} needs a name and 24+ characters")
        keys[secret] = machine(name, role)
    return keys


def machine(name: str, role: Role, scope: str | None = None) -> Identity:
    return Identity(
        subject=f"api-key:{name}",
        name=f"api:{name}",
        roles=frozenset({role}),
        portfolio=EVERYTHING,
        kind="machine",
        scope=scope,
    )


class OidcVerifier:
    """Verifies the provider's JWTs against its JWKS, found through discovery and cached."""

    def __init__(self, settings: AuthSettings, clock: Clock) -> None:
        if not (settings.oidc_issuer and settings.oidc_audience):
            raise ConfigurationError("OpenID Connect needs an issuer and an audience")
        self.settings = settings
        self.issuer_claim: str = settings.oidc_issuer
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.audience: str = settings.oidc_audience
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None

    async def _fetch_json(self, url: str) -> Any:
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                response.raise_for_status()
                return json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise IdentityProviderUnavailable(f"cannot read {url}: {exc}") from exc

    async def _refresh(self) -> KeySet:
        discovery = await self._fetch_json(f"{self.issuer}/.well-known/openid-configuration")
        if not isinstance(discovery, dict) or discovery.get("issuer", "").rstrip("/") != (
            self.issuer
        ):
            raise IdentityProviderUnavailable(
                f"the discovery document of {self.issuer} names another issuer"
            )
        document = await self._fetch_json(str(discovery.get("jwks_uri")))
        try:
            keys = KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise IdentityProviderUnavailable(f"the JWKS of {self.issuer} is invalid") from exc
        self._keys, self._fetched_at = keys, self.clock.now().timestamp()
        return keys

    async def verify(self, token: str) -> Identity:
        keys = self._keys or await self._refresh()
        try:
            decoded = jwt.decode(token, keys, algorithms=list(self.settings.oidc_algorithms))
        except InvalidKeyIdError:
            now = self.clock.now().timestamp()
            if self._fetched_at is not None and now - self._fetched_at < (
                self.settings.jwks_refresh_min_s
            ):
                raise Unauthenticated("the token's key id is unknown", "invalid_token") from None
            try:
                decoded = jwt.decode(
                    token, await self._refresh(), algorithms=list(self.settings.oidc_algorithms)
                )
            except JoseError as exc:
                raise Unauthenticated(f"invalid token: {exc.error}", "invalid_token") from None
        except JoseError as exc:
            raise Unauthenticated(f"invalid token: {exc.error}", "invalid_token") from None
        try:
            jwt.JWTClaimsRegistry(
                now=int(self.clock.now().timestamp()),
                leeway=self.settings.clock_leeway_s,
                iss={"essential": True, "value": self.issuer_claim},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise Unauthenticated(f"invalid token: {exc.error}", "invalid_token") from None
        return self.identity(decoded.claims)

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        settings = self.settings
        subject = claim(claims, settings.subject_claim)
        if not subject:
            raise Unauthenticated(f"the token has no {settings.subject_claim}", "invalid_token")
        return Identity(
            subject=f"oidc:{subject}",
            name=str(claim(claims, settings.name_claim) or subject),
            roles=roles_of(claim(claims, settings.roles_claim), settings.role_map),
            portfolio=Portfolio.of(
                _values(claim(claims, settings.company_codes_claim)),
                _values(claim(claims, settings.collector_codes_claim)),
                _values(claim(claims, settings.segments_claim)),
            ),
        )


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def load_accounts(path: Path) -> dict[str, LocalAccount]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return dict(UsersFile.model_validate(data).users)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the users file {path}: {exc}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"invalid users file {path}: {exc}") from exc


_bearer = HTTPBearer(auto_error=False, description="An OpenID Connect or local token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="A machine's key")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Authenticator:
    """Turns a request's credential into an :class:`Identity` for one service."""

    def __init__(
        self,
        service: str,
        settings: AuthSettings,
        clock: Clock,
        api_keys: Mapping[str, Identity] | None = None,
        not_configured: str = "auth_not_configured",
    ) -> None:
        self.service = service
        self.settings = settings
        self.clock = clock
        self.not_configured = not_configured
        try:
            self.api_keys = {**parse_api_keys(settings.api_keys.get_secret_value())}
            signing = parse_signing_keys(settings.signing_keys.get_secret_value())
        except ValueError as exc:
            raise ConfigurationError(f"RELANCE_AUTH_*: {exc}") from exc
        self.api_keys.update(api_keys or {})
        self.tokens = LocalTokens(signing, settings.token_lifetime_s) if signing else None
        self.accounts = load_accounts(settings.users_file) if settings.users_file else {}
        self.oidc = OidcVerifier(settings, clock) if settings.oidc_issuer else None
        self.limiter = SignInLimiter(settings.sign_in_max_failures, settings.sign_in_window_s)

    @property
    def configured(self) -> bool:
        return bool(self.api_keys or self.tokens or self.oidc)

    async def identify(self, credential: str) -> Identity:
        for secret, identity in self.api_keys.items():
            if _same(secret, credential):
                return identity
        if credential.count(".") != 2:
            raise Unauthenticated("unknown API key")
        issuer = unverified_issuer(credential)
        if issuer == LOCAL_ISSUER and self.tokens is not None:
            return self.tokens.verify(credential, self.clock.now().timestamp())
        if self.oidc is not None:
            return await self.oidc.verify(credential)
        raise Unauthenticated("the token's issuer is not accepted here", "invalid_token")

    async def authenticate(
        self,
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        api_key: str | None = Depends(_api_key),
    ) -> Identity:
        request.state.auth_service = self.service
        if not self.configured:
            raise Unauthenticated(
                "no identity provider, local account or API key is configured "
                "(RELANCE_AUTH_*): every request is refused",
                self.not_configured,
            )
        credential = api_key.strip() if api_key else None
        if credential is None and bearer is not None and bearer.credentials.strip():
            credential = bearer.credentials.strip()
        if not credential:
            raise Unauthenticated("send Authorization: Bearer <token> or X-API-Key")
        identity = await self.identify(credential)
        request.state.identity = identity
        return identity

    def require(self, role: Role) -> Callable[..., Awaitable[Identity]]:
        """A route dependency: the authenticated identity, holding ``role`` or above."""

        async def dependency(
            identity: Identity = Depends(self.authenticate),  # noqa: B008 (FastAPI dependency)
        ) -> Identity:
            require_role(identity, role)
            return identity

        return dependency

    def sign_in_router(self) -> APIRouter:
        """``POST /auth/sign-in`` for local accounts and ``GET /auth/identity``."""
        router = guarded_router()

        async def sign_in(body: SignIn, request: Request) -> Response:
            request.state.auth_service = self.service
            if self.tokens is None or not self.accounts:
                return JSONResponse(
                    {"error": "not_configured", "detail": "local accounts are not configured"},
                    status_code=404,
                )
            address = request.client.host if request.client else "unknown"
            now = self.clock.now().timestamp()
            try:
                self.limiter.check(body.login, address, now)
                identity = check_password(self.accounts, body.login, body.password)
            except SignInThrottled:
                SIGN_INS.labels(self.service, "throttled").inc()
                raise
            except Unauthenticated:
                self.limiter.failed(body.login, address, now)
                SIGN_INS.labels(self.service, "refused").inc()
                log.info("sign_in_refused", login=body.login, address=address)
                raise
            self.limiter.succeeded(body.login)
            SIGN_INS.labels(self.service, "signed_in").inc()
            log.info("signed_in", subject=identity.subject)
            return JSONResponse(
                {
                    "access_token": self.tokens.issue(identity, now),
                    "token_type": "Bearer",
                    "expires_in": self.tokens.lifetime_s,
                }
            )

        async def who(
            identity: Identity = Depends(self.authenticate),  # noqa: B008 (FastAPI dependency)
        ) -> Response:
            return JSONResponse(
                {
                    "subject": identity.subject,
                    "name": identity.name,
                    "roles": sorted(identity.roles),
                    "kind": identity.kind,
                    "portfolio": "everything"
                    if identity.unrestricted
                    else identity.portfolio.as_claims(),
                }
            )

        router.add_api_route("/auth/sign-in", sign_in, methods=["POST"], tags=["auth"])
        router.add_api_route("/auth/identity", who, methods=["GET"], tags=["auth"])
        return router


def _same(secret: str, presented: str) -> bool:
    return hmac.compare_digest(secret.encode(), presented.encode())


def problem(request: Request, exc: AuthError) -> JSONResponse:
    """The answer to an authentication or authorization failure."""
    service = getattr(request.state, "auth_service", "unknown")
    if isinstance(exc, Refused):
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        REFUSALS.labels(service, path, exc.reason).inc()
        identity = getattr(request.state, "identity", None)
        log.info(
            "authorization_refused",
            route=path,
            reason=exc.reason,
            subject=identity.subject if identity else None,
        )
        return JSONResponse(
            {"error": "forbidden", "reason": exc.reason, "detail": exc.detail}, status_code=403
        )
    if isinstance(exc, Unauthenticated):
        return JSONResponse(
            {"error": exc.error, "detail": exc.detail},
            status_code=401,
            headers={"WWW-Authenticate": _challenge(exc)},
        )
    if isinstance(exc, SignInThrottled):
        return JSONResponse(
            {"error": "too_many_attempts", "detail": str(exc)},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    log.warning("identity_provider_unavailable", detail=str(exc))
    return JSONResponse(
        {"error": "identity_provider_unavailable", "detail": "try again shortly"},
        status_code=503,
    )


def _challenge(exc: Unauthenticated) -> str:
    if exc.error == "invalid_token":
        return 'Bearer error="invalid_token"'
    return "Bearer"


class AuthRoute(APIRoute):
    """A route whose authentication and authorization failures become JSON answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthError as exc:
                return problem(request, exc)

        return guarded


def guarded_router() -> APIRouter:
    """An APIRouter whose routes answer auth failures as :func:`problem` does."""
    return APIRouter(route_class=AuthRoute)


def install(app: FastAPI) -> None:
    """Answer auth failures anywhere in ``app`` as :func:`problem` does."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        return problem(request, exc)

    app.add_exception_handler(AuthError, handler)
