"""An entry of the console's audit log (sign-ins, sign-outs, language choices, refusals):
a pure value, checked so that no secret is ever written.

The commands the console sends are audited where they are recorded (``sent_command``,
``plan_proposals``) and by the scheduler (``dunning.command.executed``); the view
``audit_trail`` shows both (migration 0017).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AuditAction = Literal["sign_in", "sign_in_with_provider", "sign_out", "language", "request_refused"]
AuditOutcome = Literal["done", "refused", "throttled"]

SECRET_WORDS = ("password", "secret", "token", "csrf", "cookie", "key", "code")
"""Words no detail's name may hold: a password typed, a session or anti-forgery token, an
authorization code are never written (a bug if asked)."""

LOGIN_LENGTH = 200


@dataclass(frozen=True)
class AuditEntry:
    action: AuditAction
    outcome: AuditOutcome
    subject: str | None = None
    login: str | None = None
    address: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def audit_entry(
    action: AuditAction,
    outcome: AuditOutcome,
    *,
    subject: str | None = None,
    login: str | None = None,
    address: str | None = None,
    **detail: str | int | bool | None,
) -> AuditEntry:
    """The entry, the login cut to its length; a detail named like a secret is a bug."""
    named = sorted(n for n in detail if any(word in n.lower() for word in SECRET_WORDS))
    if named:
        raise ValueError(f"an audit entry never holds a secret: {', '.join(named)}")
    return AuditEntry(
        action,
        outcome,
        subject=subject or None,
        login=(login or "").strip()[:LOGIN_LENGTH] or None,
        address=address or None,
        detail={k: v for k, v in detail.items() if v is not None},
    )
