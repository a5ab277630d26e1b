"""Who may do what through the HTTP API, and how API keys are configured.

Keys are given as ``role:secret`` pairs separated by commas; a request presents its
secret as ``Authorization: Bearer <secret>`` or ``X-API-Key: <secret>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Literal, get_args

ApiRole = Literal["reader", "portal", "collector", "manager"]
Action = Literal[
    "read", "open_dispute", "resolve_dispute", "reopen_dispute", "record_promise", "agree_plan"
]

API_ROLES: tuple[ApiRole, ...] = get_args(ApiRole)

PERMISSIONS: Mapping[ApiRole, frozenset[Action]] = {
    "reader": frozenset({"read"}),
    "portal": frozenset({"read", "open_dispute", "record_promise"}),
    "collector": frozenset(
        {
            "read",
            "open_dispute",
            "resolve_dispute",
            "reopen_dispute",
            "record_promise",
            "agree_plan",
        }
    ),
    "manager": frozenset(
        {
            "read",
            "open_dispute",
            "resolve_dispute",
            "reopen_dispute",
            "record_promise",
            "agree_plan",
        }
    ),
}


def parse_keys(text: str) -> dict[str, ApiRole]:
    """``role:secret,role:secret`` as {secret: role}; raises ValueError on a bad entry."""
    keys: dict[str, ApiRole] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        role, sep, secret = entry.partition(":")
        role, secret = role.strip(), secret.strip()
        if not sep or not secret:
            raise ValueError(f"an API key is given as role:secret, not {role!r}...")
        if role not in API_ROLES:
            raise ValueError(f"unknown API role {role!r}; expected one of {', '.join(API_ROLES)}")
        if len(secret) < 16:
            raise ValueError(f"the API key of role {role!r} is shorter than 16 characters")
        keys[secret] = role
    return keys


def role_of(presented: str, keys: Mapping[str, ApiRole]) -> ApiRole | None:
    """The role of a presented secret, compared in constant time; None when unknown."""
    found: ApiRole | None = None
    for secret, role in keys.items():
        if hmac.compare_digest(secret.encode(), presented.encode()):
            found = role
    return found


def may(role: ApiRole, action: Action) -> bool:
    return action in PERMISSIONS[role]
