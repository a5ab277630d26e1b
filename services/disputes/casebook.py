"""The use cases: commands and ledger facts applied to disputes, promises and plans.

The casebook holds the three aggregates (:mod:`services.disputes.cases`): a command goes to
one of them (``casebook.disputes.open``, ``casebook.promises.record``,
``casebook.plans.agree``...); the ledger's facts, which concern several, are applied a
run at a time by :mod:`services.disputes.ledger_run` with the same domain rules. Every use
case runs inside the caller's transaction (a Kafka batch's or an HTTP request's), checks the command
against the stored state first, and raises :class:`CommandRejected` before changing
anything when it cannot be applied. It returns the events to publish, which the caller
writes to the outbox in the same transaction. The Kafka consumer, the HTTP API and the
timers all go through here, so they decide the same way.
"""

from __future__ import annotations

from services.disputes.cases.callbacks import Callbacks
from services.disputes.cases.disputes import Disputes
from services.disputes.cases.ledger_view import LedgerView
from services.disputes.cases.plans import Plans
from services.disputes.cases.promises import Promises
from services.disputes.cases.proposals import Proposals
from services.disputes.domain.policy import Policy

__all__ = ["Casebook", "Policy"]


class Casebook:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ledger = LedgerView(policy.time_zone)
        self.disputes = Disputes(policy, self.ledger)
        self.promises = Promises(policy, self.ledger)
        self.plans = Plans(policy, self.ledger)
        self.callbacks = Callbacks(self.ledger)
        self.proposals = Proposals(policy, self.ledger, self.plans)
