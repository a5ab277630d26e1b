"""Reference data that is not about any one customer: foreign exchange rates.

Reporting converts open amounts to the group's reporting currency with the rate valid on the
day (aged balance, DSO, totals across companies). Amounts in events always stay in their own
currency; rates are only ever used for reporting.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema, model_validator

from contracts.envelope import Contract, Event
from contracts.money import CurrencyCode, refuse_binary_float

Rate = Annotated[
    Decimal,
    Field(gt=0, max_digits=24, decimal_places=12, allow_inf_nan=False),
    BeforeValidator(refuse_binary_float),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(?=.*[1-9])[0-9]{1,12}(\.[0-9]{1,12})?$",
            "description": "Units of the quote currency for one unit of the base currency.",
        },
        mode="validation",
    ),
]


class FxRate(Contract):
    """One exchange rate, valid for one day."""

    base_currency: CurrencyCode
    quote_currency: CurrencyCode
    rate: Rate
    valid_on: date

    @model_validator(mode="after")
    def _two_currencies(self) -> FxRate:
        if self.base_currency == self.quote_currency:
            raise ValueError(f"a rate from {self.base_currency} to itself")
        return self

    @property
    def pair(self) -> str:
        """The Kafka key of ``reference.fx-rates.v1``: ``BASE/QUOTE``, e.g. ``EUR/USD``."""
        return f"{self.base_currency}/{self.quote_currency}"


class FxRatePublished(Event):
    """The rate of a currency pair for a day, from the treasury or the ERP."""

    event_type: Literal["fx.rate.published"] = "fx.rate.published"
    payload: FxRate


FxRateEvent = Annotated[FxRatePublished, Field(discriminator="event_type")]
