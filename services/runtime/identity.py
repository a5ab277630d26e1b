"""Who is asking, and what they may see: identities, roles, portfolios, local accounts.

Pure parts of authentication and authorization (no I/O, no framework): the FastAPI
dependencies that use them are in :mod:`services.runtime.auth`.

An :class:`Identity` is a person (signed in through the firm's OpenID Connect provider or
with a local account) or a machine (an API key). Roles are ordered, each including the ones
below it: ``viewer < collector < credit_manager < administrator``.

A **portfolio** says which customers a person works on: company codes, collector codes and
segments. A resource is covered when any one of its attributes is in the portfolio (a
collector with ``company_codes: [FR01]`` and ``collector_codes: [C12]`` sees every FR01
customer and C12's customers elsewhere). Without a portfolio, an administrator or a credit
manager sees everything and a viewer or a collector sees nothing: a person missing from the
identity provider's groups is refused, never shown the whole book by accident. A machine
(API key) sees everything its role allows: the key belongs to the installation.

Exceptions::

    RelanceError
     └── AuthError
          ├── Unauthenticated   (401, WWW-Authenticate: Bearer)
          ├── Refused           (403, with a reason, counted)
          └── SignInThrottled   (429)
"""

from __future__ import annotations

import base64
import functools
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.runtime.errors import RelanceError

Role = Literal["viewer", "collector", "credit_manager", "administrator"]
ROLES: tuple[Role, ...] = get_args(Role)
UNRESTRICTED_ROLES: frozenset[Role] = frozenset({"credit_manager", "administrator"})
LOCAL_ISSUER = "relance"
LOCAL_AUDIENCE = "relance"


class AuthError(RelanceError):
    """The request's credentials were not accepted."""


class Unauthenticated(AuthError):
    """No valid credential was presented."""

    def __init__(self, detail: str, error: str = "unauthenticated") -> None:
        self.error, self.detail = error, detail
        super().__init__(detail)


class Refused(AuthError):
    """The identity may not do this."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


class SignInThrottled(AuthError):
    """Too many failed sign-ins for this account or address; try again later."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins; retry in {retry_after_s} s")


def rank(role: Role) -> int:
    return ROLES.index(role)


@dataclass(frozen=True)
class Portfolio:
    company_codes: frozenset[str] = frozenset()
    collector_codes: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def of(
        cls,
        company_codes: Iterable[str] = (),
        collector_codes: Iterable[str] = (),
        segments: Iterable[str] = (),
    ) -> Portfolio:
        return cls(frozenset(company_codes), frozenset(collector_codes), frozenset(segments))

    @property
    def empty(self) -> bool:
        return not (self.everything or self.company_codes or self.collector_codes or self.segments)

    def as_claims(self) -> dict[str, list[str]]:
        return {
            "company_codes": sorted(self.company_codes),
            "collector_codes": sorted(self.collector_codes),
            "segments": sorted(self.segments),
        }


EVERYTHING = Portfolio(everything=True)


@dataclass(frozen=True)
class Identity:
    """Who is asking. ``subject`` is stable and unique (``oidc:<sub>``, ``local:<login>``,
    ``api-key:<role>``): it is what commands record as their actor."""

    subject: str
    name: str
    roles: frozenset[Role]
    portfolio: Portfolio = field(default_factory=Portfolio)
    kind: Literal["person", "machine"] = "person"
    scope: str | None = None  # a machine's own API role, when a service has narrower ones

    @property
    def role(self) -> Role | None:
        """The highest role held; None when the identity holds none."""
        return max(self.roles, key=ROLES.index) if self.roles else None

    def has(self, role: Role) -> bool:
        return self.role is not None and rank(self.role) >= rank(role)

    @property
    def actor(self) -> str:
        """What a command records as who did it (at most 200 characters)."""
        return self.subject[:200]

    @property
    def unrestricted(self) -> bool:
        """Whether the identity sees every customer."""
        if self.portfolio.everything:
            return True
        return self.portfolio.empty and bool(self.roles & UNRESTRICTED_ROLES)


def covers(
    identity: Identity,
    company_code: str | None = None,
    collector_code: str | None = None,
    segment: str | None = None,
) -> bool:
    """Whether the identity's portfolio covers a resource with these attributes."""
    if identity.unrestricted:
        return True
    portfolio = identity.portfolio
    return (
        (company_code is not None and company_code in portfolio.company_codes)
        or (collector_code is not None and collector_code in portfolio.collector_codes)
        or (segment is not None and segment in portfolio.segments)
    )


def require_role(identity: Identity, role: Role) -> None:
    """Raise :class:`Refused` unless the identity holds ``role`` or one above it."""
    if not identity.has(role):
        held = identity.role or "no role"
        raise Refused("role", f"this needs the role {role}; {identity.subject} has {held}")


def authorize(
    identity: Identity,
    *,
    company_code: str | None = None,
    collector_code: str | None = None,
    segment: str | None = None,
) -> None:
    """Raise :class:`Refused` (reason ``portfolio``) unless the portfolio covers the resource."""
    if not covers(identity, company_code, collector_code, segment):
        named = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("company", company_code),
                ("collector", collector_code),
                ("segment", segment),
            )
            if value is not None
        )
        raise Refused(
            "portfolio", f"{named or 'this resource'} is outside {identity.subject}'s portfolio"
        )


COLLECTOR_TAG = "collector:"
"""The ERP's tag naming the collector in charge of an account (``collector:C12``)."""


def collector_code_of(tags: Iterable[str]) -> str | None:
    """The collector code among a customer's tags (its account team), if any."""
    for tag in tags:
        if tag.startswith(COLLECTOR_TAG) and len(tag) > len(COLLECTOR_TAG):
            return tag[len(COLLECTOR_TAG) :]
    return None


def company_of(invoice_id: str) -> str:
    """The company code of an invoice id (``<company_code>/<invoice_number>``)."""
    return invoice_id.split("/", 1)[0]


def authorize_invoices(identity: Identity, invoice_ids: Iterable[str]) -> None:
    """Every invoice's company must be covered."""
    for company in sorted({company_of(i) for i in invoice_ids}):
        authorize(identity, company_code=company)


def covers_invoices(identity: Identity, invoice_ids: Iterable[str]) -> bool:
    companies = {company_of(i) for i in invoice_ids}
    if not companies:
        return identity.unrestricted
    return all(covers(identity, company_code=c) for c in companies)


# ---- local accounts ------------------------------------------------------------------

_HASHER = PasswordHasher()


@functools.cache
def _absent_hash() -> str:
    """Verified against when the account is unknown, so that timing does not tell which
    exist. Made when a users file is first read (``UsersFile``), not at import: a hash is
    about 0.2 s of CPU, which every process importing this module paid at start."""
    return _HASHER.hash("relance: no such account")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, for the ``password_hash`` of a local account."""
    if len(password) < 12:
        raise ValueError("a password has at least 12 characters")
    return _HASHER.hash(password)


class PortfolioEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    company_codes: tuple[str, ...] = ()
    collector_codes: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()


class LocalAccount(BaseModel):
    """One person of the users file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: Role
    password_hash: str = Field(pattern=r"^\$argon2id?\$")
    portfolio: PortfolioEntry = PortfolioEntry()
    disabled: bool = False


class UsersFile(BaseModel):
    """``users:`` by login, as read from YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: dict[str, LocalAccount] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _absent_hash_ready(self) -> UsersFile:
        """Sign-in may follow: the unknown accounts' hash made now, so that the first
        unknown login takes as long as the others."""
        _absent_hash()
        return self


def identity_of_account(login: str, account: LocalAccount) -> Identity:
    entry = account.portfolio
    return Identity(
        subject=f"local:{login}",
        name=account.name,
        roles=frozenset({account.role}),
        portfolio=Portfolio.of(entry.company_codes, entry.collector_codes, entry.segments),
    )


def check_password(accounts: Mapping[str, LocalAccount], login: str, password: str) -> Identity:
    """The identity of a local account whose password matches; raise Unauthenticated."""
    account = accounts.get(login)
    try:
        _HASHER.verify(account.password_hash if account else _absent_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise Unauthenticated("unknown account or wrong password") from None
    if account is None or account.disabled:
        raise Unauthenticated("unknown account or wrong password")
    return identity_of_account(login, account)


@dataclass
class SignInLimiter:
    """Failed sign-ins per account and per address in a sliding window.

    After ``max_failures`` failures within ``window_s`` for the account or for the address,
    further attempts are refused until the oldest failure leaves the window; a success
    clears the account's failures. ``now`` is passed in (seconds, any monotonic origin).
    """

    max_failures: int = 5
    window_s: float = 300.0
    max_keys: int = 100_000  # beyond, expired entries are swept: the table stays bounded
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, account: str, address: str, now: float) -> None:
        for key in (f"account:{account}", f"address:{address}"):
            failures = self._recent(key, now)
            if len(failures) >= self.max_failures:
                raise SignInThrottled(max(1, int(failures[0] + self.window_s - now) + 1))

    def failed(self, account: str, address: str, now: float) -> None:
        if len(self._failures) >= self.max_keys:
            for key in list(self._failures):
                self._recent(key, now)
        for key in (f"account:{account}", f"address:{address}"):
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(f"account:{account}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        """The key's failures within the window; a key with none left is forgotten."""
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures


# ---- the service's own tokens ----------------------------------------------------------


def parse_signing_keys(text: str) -> list[OctKey]:
    """``kid:secret,kid:secret`` (the first signs, all verify); secrets of 32+ characters."""
    keys: list[OctKey] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        kid, sep, secret = entry.partition(":")
        kid, secret = kid.strip(), secret.strip()
        if not sep or not kid or not secret:
            raise ValueError(f"a signing key is given as kid:secret, not {kid!r}...")
        if len(secret) < 32:
            raise ValueError(f"the signing key {kid!r} is shorter than 32 characters")
        keys.append(OctKey.import_key(secret, {"kid": kid}))
    return keys


class LocalTokens:
    """Short-lived bearer tokens signed (HS256) by the installation's own keys."""

    def __init__(self, keys: list[OctKey], lifetime_s: int = 900) -> None:
        if not keys:
            raise ValueError("local tokens need at least one signing key")
        self.keys = keys
        self.key_set = KeySet(list(keys))
        self.lifetime_s = lifetime_s

    def issue(self, identity: Identity, now: float) -> str:
        current = self.keys[0]
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": identity.subject,
            "name": identity.name,
            "roles": sorted(identity.roles),
            "portfolio": identity.portfolio.as_claims(),
            "iat": int(now),
            "exp": int(now) + self.lifetime_s,
        }
        return jwt.encode({"alg": "HS256", "kid": current.kid}, claims, current)

    def verify(self, token: str, now: float) -> Identity:
        try:
            decoded = jwt.decode(token, self.key_set, algorithms=["HS256"])
            jwt.JWTClaimsRegistry(
                now=int(now),
                leeway=30,
                iss={"essential": True, "value": LOCAL_ISSUER},
                aud={"essential": True, "value": LOCAL_AUDIENCE},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise Unauthenticated(f"invalid token: {exc.error}", "invalid_token") from None
        claims = decoded.claims
        portfolio = claims.get("portfolio") or {}
        return Identity(
            subject=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            roles=roles_of(claims.get("roles")),
            portfolio=Portfolio.of(
                _strings(portfolio.get("company_codes")),
                _strings(portfolio.get("collector_codes")),
                _strings(portfolio.get("segments")),
            ),
        )


def roles_of(value: Any, mapping: Mapping[str, Role] | None = None) -> frozenset[Role]:
    """The known roles among a claim's values (others, an IdP's own groups, are ignored)."""
    names = _strings(value)
    found: set[Role] = set()
    for name in names:
        if mapping and name in mapping:
            found.add(mapping[name])
        elif name in ROLES:
            found.add(name)
    return frozenset(found)


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by dotted path (``realm_access.roles``); None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, read before verification to choose who verifies it."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = data.get("iss") if isinstance(data, dict) else None
    return issuer if isinstance(issuer, str) else None
