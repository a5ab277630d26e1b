"""Late-payment penalties and the fixed recovery indemnity (French Commercial Code L441-10).

Interest runs from the day after the due date up to and including the day the statement is
drawn, at the European Central Bank's refinancing rate plus ten percentage points unless the
creditor's terms state otherwise, on the open amount, over a 365-day year. Each late invoice
to a business (or a public body) also owes a fixed indemnity for recovery costs of 40 EUR; a
consumer never owes it (the indemnity exists for debts between businesses only), whatever a
step, an assignment override or a campaign asks: the rule depends on the customer's type.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from contracts.erp import CustomerType

CENT = Decimal("0.01")
DEFAULT_MARGIN_POINTS = Decimal(10)
RECOVERY_INDEMNITY_EUR = Decimal(40)
DAYS_IN_YEAR = Decimal(365)


def annual_penalty_rate(ecb_rate_percent: Decimal, margin_points: Decimal) -> Decimal:
    """The yearly rate in percent: the ECB rate plus the margin (10 points by default)."""
    return ecb_rate_percent + margin_points


def days_late(due_date: date, as_of: date) -> int:
    """Days of interest: from the day after the due date up to ``as_of`` included."""
    return max(0, (as_of - due_date).days)


def late_payment_interest(
    open_amount: Decimal, due_date: date, as_of: date, annual_rate_percent: Decimal
) -> Decimal:
    """Interest owed on ``open_amount`` on ``as_of``, rounded half-up to the cent."""
    if open_amount <= 0:
        return Decimal("0.00")
    days = days_late(due_date, as_of)
    interest = open_amount * annual_rate_percent / Decimal(100) * Decimal(days) / DAYS_IN_YEAR
    return interest.quantize(CENT, rounding=ROUND_HALF_UP)


def owes_recovery_indemnity(customer_type: CustomerType) -> bool:
    """A business or a public body owes the fixed recovery indemnity; a consumer never does."""
    return customer_type != "consumer"


def recovery_indemnity(
    late_invoices: int,
    per_invoice: Decimal = RECOVERY_INDEMNITY_EUR,
    customer_type: CustomerType = "business",
) -> Decimal:
    """The fixed indemnity in EUR owed for ``late_invoices`` late invoices (0 for a consumer)."""
    if not owes_recovery_indemnity(customer_type):
        return Decimal("0.00")
    return (per_invoice * late_invoices).quantize(CENT)
