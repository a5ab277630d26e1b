"""The words for the read model's codes (statuses, channels, timeline kinds...).

Marked with ``N_`` for ``pybabel extract -k N_``; translated when shown (the ``label``
filter of :mod:`services.console.web.i18n`).
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional marker)
    return message


LABELS: dict[str, str] = {
    # open item statuses and ageing
    "due": N_("Current"),
    "overdue": N_("Overdue"),
    "disputed": N_("Disputed"),
    "promised": N_("Promised"),
    "in_plan": N_("In a plan"),
    "not_due": N_("Not yet due"),
    "1_30": N_("1 to 30 days"),
    "31_60": N_("31 to 60 days"),
    "61_90": N_("61 to 90 days"),
    "over_90": N_("Over 90 days"),
    # worklist
    "broken_promise": N_("Broken promise"),
    "overdue_dispute": N_("Dispute overdue"),
    "delivery_trouble": N_("Delivery failed or bounced"),
    "call_due": N_("Call to make"),
    "missed_instalment": N_("Instalment missed"),
    "unmatched_cash": N_("Unmatched cash"),
    "payment": N_("Payment"),
    "credit_note": N_("Credit note"),
    # promises, plans and unmatched cash
    "made": N_("Made"),
    "kept": N_("Kept"),
    "broken": N_("Broken"),
    "agreed": N_("Agreed"),
    "completed": N_("Completed"),
    "matched": N_("Matched"),
    "released": N_("Released"),
    "dead_lettered": N_("Dead-lettered"),
    # dispute owners' roles
    "sales": N_("Sales"),
    "order_administration": N_("Order administration"),
    "technical": N_("Technical"),
    "accounting_team": N_("Accounting team"),
    "manager": N_("Collection manager"),
    # levels and channels
    "preventive": N_("Preventive"),
    "level_1": N_("Level 1"),
    "level_2": N_("Level 2"),
    "formal_notice": N_("Formal notice"),
    "email": N_("Email"),
    "interactive_email": N_("Interactive email"),
    "sms": N_("SMS"),
    "phone_call": N_("Phone call"),
    "postal_letter": N_("Postal letter"),
    "registered_letter": N_("Registered letter"),
    "electronic_registered_letter": N_("Electronic registered letter"),
    # collectors' commands
    "command.hold": N_("Hold"),
    "command.release": N_("Hold released"),
    "command.send_now": N_("Sent now"),
    "command.add_note": N_("Note"),
    "command.skip_step": N_("Step skipped"),
    "command.change_scenario": N_("Scenario changed"),
    # timeline
    "invoice.opened": N_("Invoice issued"),
    "invoice.payment": N_("Payment received"),
    "invoice.credit_note": N_("Credit note"),
    "invoice.correction": N_("Invoice corrected"),
    "invoice.reversal": N_("Payment or credit reversed"),
    "invoice.settled.payment": N_("Invoice paid in full"),
    "invoice.settled.credit_note": N_("Invoice cleared by a credit note"),
    "invoice.settled.correction": N_("Invoice cleared by a correction"),
    "invoice.settled.credit_balance": N_("Invoice cleared from the credit balance"),
    "invoice.cancelled": N_("Invoice cancelled"),
    "credit_balance.changed": N_("Credit balance changed"),
    "unmatched_cash.recorded": N_("Money received that waits for its invoices"),
    "unmatched_cash.cleared": N_("Unmatched money cleared"),
    "reminder.due": N_("Reminder decided"),
    "escalation.raised": N_("Escalated"),
    "delivery.sent": N_("Reminder sent"),
    "delivery.delivered": N_("Reminder delivered"),
    "delivery.bounced": N_("Reminder bounced"),
    "delivery.failed": N_("Reminder failed"),
    "delivery.suppressed": N_("Reminder not sent"),
    "call_task.closed": N_("Call logged"),
    "dispute.opened": N_("Dispute opened"),
    "dispute.resolved": N_("Dispute resolved"),
    "dispute.reopened": N_("Dispute reopened"),
    "dispute.correction_received": N_("Correction received for a dispute"),
    "dispute.owner_reminder": N_("Dispute owner reminded"),
    "promise.made": N_("Promise to pay"),
    "promise.kept": N_("Promise kept"),
    "promise.broken": N_("Promise broken"),
    "plan.agreed": N_("Payment plan agreed"),
    "plan.instalment_missed": N_("Instalment missed"),
    "plan.broken": N_("Payment plan broken"),
    "plan.completed": N_("Payment plan completed"),
    # dispute categories
    "commercial": N_("Commercial"),
    "quality": N_("Quality"),
    "delivery": N_("Delivery"),
    "pricing": N_("Pricing"),
    "administrative": N_("Administrative"),
    "accounting": N_("Accounting"),
    # roles
    "viewer": N_("viewer"),
    "collector": N_("collector"),
    "credit_manager": N_("credit manager"),
    "administrator": N_("administrator"),
    # call outcomes
    "promise_to_pay": N_("Promise to pay"),
    "dispute_raised": N_("Dispute raised"),
    "wrong_contact": N_("Wrong contact"),
    "no_answer": N_("No answer"),
    "answered": N_("Answered, nothing agreed"),
    "command.log_call": N_("Call logged"),
}
