"""Which customers a person's portfolio covers, from what the scheduler knows of them.

A portfolio names company codes, collector codes and segments
(:class:`services.runtime.identity.Portfolio`). The scheduler knows each customer's company,
and its segment as the ERP sends it (``customer.segment``): the collector code is the
account team's tag ``collector:<code>`` among the segment's tags (the console reads the same
tag), the segment is the market (``domestic`` or ``export``). A customer is covered when any
one of the three is in the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.erp import Segment
from services.runtime.identity import Identity, authorize, collector_code_of, covers


@dataclass(frozen=True)
class CustomerScope:
    """What a portfolio is matched against."""

    company_code: str
    collector_code: str | None
    segment: str


def collector_code(segment: Segment) -> str | None:
    """The collector in charge of the account (its tag ``collector:<code>``), if any."""
    return collector_code_of(segment.tags)


def scope_of(company_code: str, segment: Segment) -> CustomerScope:
    return CustomerScope(company_code, collector_code(segment), segment.market)


def customer_covered(identity: Identity, scope: CustomerScope) -> bool:
    return covers(identity, scope.company_code, scope.collector_code, scope.segment)


def authorize_customer(identity: Identity, scope: CustomerScope) -> None:
    """Raise :class:`~services.runtime.identity.Refused` (``portfolio``) unless covered."""
    authorize(
        identity,
        company_code=scope.company_code,
        collector_code=scope.collector_code,
        segment=scope.segment,
    )
