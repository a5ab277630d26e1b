"""Exact money: a ``Decimal`` amount with an ISO 4217 currency code, never a float.

Amounts are validated as finite decimals with at most four decimal places (enough for every
ISO 4217 minor unit) and eighteen significant digits, and are serialised in JSON as strings
so that no consumer ever parses them into a binary float. A binary float is refused on input
too, a JSON number with a fraction included: it has already lost digits (``12345678901234.5678``
arrives as ``12345678901234.568``). Integers and decimal strings are exact and accepted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_extra_types.currency_code import ISO4217

from contracts.envelope import Contract

_DIGITS = r"[0-9]{1,14}(\.[0-9]{1,4})?$"


def refuse_binary_float(value: Any) -> Any:
    """Refuse a binary float before it becomes a ``Decimal`` with its rounding error."""
    if isinstance(value, float):
        raise ValueError("an exact decimal is a string or an integer, never a binary float")
    return value


def _json_schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description}, mode="validation"
    )


# The JSON type is a string, so that BI tools, JavaScript and other languages keep every cent.
# ``format(value, "f")`` never writes an exponent, so "1E+3" goes out as "1000".
Amount = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(refuse_binary_float),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    _json_schema("^-?" + _DIGITS, 'Exact decimal amount as a string, e.g. "1250.00".'),
]
PositiveAmount = Annotated[
    Amount,
    Field(gt=0),
    _json_schema("^(?=.*[1-9])" + _DIGITS, "Exact decimal amount > 0 as a string."),
]
NonNegativeAmount = Annotated[
    Amount,
    Field(ge=0),
    _json_schema("^" + _DIGITS, "Exact decimal amount >= 0 as a string."),
]
CurrencyCode = Annotated[ISO4217, Field(description="ISO 4217 currency code, e.g. EUR.")]


class Money(Contract):
    """An exact amount in one currency."""

    amount: Amount
    currency: CurrencyCode


class PositiveMoney(Contract):
    """An exact, strictly positive amount in one currency (an invoice, a payment)."""

    amount: PositiveAmount
    currency: CurrencyCode
