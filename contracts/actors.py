"""The authenticated identity a command carries, shared by the collectors' commands
(``dunning.commands.v1``) and the credit managers' decisions on payment plans proposed by
customers (``disputes.commands.v1``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.dunning import ActorRole
from contracts.envelope import Contract

Subject = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100)]

ROLE_ORDER: tuple[ActorRole, ...] = ("viewer", "collector", "credit_manager", "administrator")


class CommandActor(Contract):
    """The authenticated identity that asked, as the producer authenticated it."""

    subject: Subject = Field(
        description="Stable and unique: oidc:<sub>, local:<login>, api-key:<role>, operator:<name>."
    )
    roles: tuple[ActorRole, ...] = Field(min_length=1)
    kind: Literal["person", "machine"] = "person"
    company_codes: tuple[Code, ...] = Field(default=(), description="The actor's portfolio.")
    collector_codes: tuple[Code, ...] = ()
    segments: tuple[Code, ...] = ()
    everything: bool = Field(
        default=False, description="The portfolio covers every customer (an administrator's)."
    )

    def has(self, role: ActorRole) -> bool:
        """Whether one of the actor's roles is ``role`` or above it."""
        return any(ROLE_ORDER.index(own) >= ROLE_ORDER.index(role) for own in self.roles)
