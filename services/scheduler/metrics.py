"""The scheduler's own metrics, next to the runtime kit's (``service`` label on each)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REMINDERS_DUE = Counter(
    "relance_scheduler_reminders_due",
    "Reminder-due events emitted, by channel and level.",
    ["service", "channel", "level"],
)
ESCALATIONS = Counter(
    "relance_scheduler_escalations",
    "Cases that left the amicable phase, by exit action.",
    ["service", "action"],
)
TICK_SECONDS = Histogram(
    "relance_scheduler_tick_seconds",
    "Time of one tick (one batch of due customers, one transaction), empty ones included.",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FALLBACKS = Counter(
    "relance_scheduler_fallbacks",
    "Reminders sent again on a fallback channel after a failure or a hard bounce.",
    ["service", "from_channel", "to_channel"],
)
UNDELIVERABLE = Counter(
    "relance_scheduler_undeliverable",
    "Reminders that failed on a channel with no fallback left: the contact needs fixing.",
    ["service", "channel"],
)
COMMANDS = Counter(
    "relance_scheduler_commands",
    "Collectors' commands, by command and outcome (executed, duplicate, or the rejection reason).",
    ["service", "command", "outcome"],
)

PROPOSALS = Counter(
    "relance_scheduler_proposals",
    "Proposals raised, edited and ended (approved, skipped, postponed, withdrawn, timeout_*).",
    ["service", "outcome"],
)

API_COMMANDS = Counter(
    "relance_scheduler_api_commands",
    "Commands received through the HTTP commands API and written to dunning.commands.v1, by "
    "command and outcome (accepted, repeated: a retry with the same id and body).",
    ["command", "outcome"],
)
LIBRARY_RELOADS = Counter(
    "relance_scheduler_library_reloads",
    "Scenario libraries checked at run time, by outcome (accepted, refused).",
    ["service", "outcome"],
)
LIBRARY_REASSIGNED = Counter(
    "relance_scheduler_library_reassigned",
    "Invoices under way of a scenario removed from the library, assigned again by the rules.",
    ["service", "scenario"],
)
