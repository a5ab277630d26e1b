"""The envelope every Relance event carries.

``event_id`` is the idempotency key: a consumer stores the ids it applied, in the same
transaction as the state change, and ignores an id it has seen. ``occurred_at`` must be
timezone-aware. ``source`` names the producer (an ERP connector, a Relance service).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

SourceName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
CustomerId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(description="The customer's id, unique within a Relance installation; the Kafka key."),
]
CompanyCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, strip_whitespace=True),
    Field(description="The creditor's legal entity / company code in the ERP."),
]
# Fields of this type are declared `extra: ExtraAttributes = Field(default_factory=dict)` so
# that type checkers see the default (the pydantic mypy plugin misses it inside Annotated).
ExtraAttributes = Annotated[
    dict[str, JsonValue],
    Field(
        description=(
            "ERP-specific attributes that Relance keeps but does not interpret. ERP events "
            "reject unknown top-level fields; anything else an ERP wants kept goes here."
        ),
    ),
]


class Contract(BaseModel):
    """Base of every model in a contract: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Event(Contract):
    """Common envelope. Subclasses narrow ``event_type`` to a ``Literal`` and type ``payload``."""

    event_id: UUID = Field(description="Idempotency key of the event.")
    event_type: str
    schema_version: int = Field(default=1, ge=1)
    occurred_at: AwareDatetime = Field(description="When the fact happened, timezone-aware.")
    source: SourceName
    payload: Any

    @property
    def customer_id(self) -> str:
        """The Kafka key of every topic: the customer the event is about."""
        return str(self.payload.customer_id)
