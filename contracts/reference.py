"""Reference data that is not about any one customer: foreign exchange rates and the
reference interest rates of late-payment law.

Reporting converts open amounts to the group's reporting currency with the rate valid on the
day (aged balance, DSO, totals across companies). Amounts in events always stay in their own
currency; exchange rates are only ever used for reporting.

Late-payment interest is a reference rate plus a margin set by law (``docs/law.md``): the
ECB's main refinancing rate, the German base rate (Basiszinssatz, §247 BGB), the Bank of
England's base rate. Each change of one of them is a ``reference.interest_rate.published``
event (the rate in force from ``valid_from`` until the next one of its kind), so that no
service holds a rate setting someone must edit every six months.
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


ReferenceRateKind = Literal["ecb_mro", "de_base_rate", "boe_base_rate"]
"""``ecb_mro``: the ECB main refinancing operations rate (fixed rate tenders);
``de_base_rate``: the Basiszinssatz of §247 BGB published by the Deutsche Bundesbank;
``boe_base_rate``: the Bank of England's Bank Rate (official dealing rate)."""

InterestRatePercent = Annotated[
    Decimal,
    Field(ge=-100, le=100, max_digits=9, decimal_places=4, allow_inf_nan=False),
    BeforeValidator(refuse_binary_float),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]{1,3}(\.[0-9]{1,4})?$",
            "description": "Percent a year, e.g. 4.50; negative rates exist (-0.88).",
        },
        mode="validation",
    ),
]


class ReferenceInterestRate(Contract):
    """A reference interest rate, in force from ``valid_from`` until the next one of its
    kind."""

    kind: ReferenceRateKind
    valid_from: date
    rate: InterestRatePercent


class ReferenceInterestRatePublished(Event):
    """A reference interest rate changed (or was confirmed) from a day, from a rates file
    loaded by an operator."""

    event_type: Literal["reference.interest_rate.published"] = "reference.interest_rate.published"
    payload: ReferenceInterestRate


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

InterestRateEvent = Annotated[ReferenceInterestRatePublished, Field(discriminator="event_type")]
