"""Writing the console's audit log: one row in ``audit_log`` and one structured log line
(``audit``) per entry, with the clock's time."""

from __future__ import annotations

from services.console import queries
from services.console.domain.audit import AuditEntry
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.logs import get_logger

log = get_logger(__name__)


async def record(pool: Pool, clock: Clock, entry: AuditEntry) -> None:
    await pool.execute(
        queries.RECORD_AUDIT,
        clock.now(),
        entry.action,
        entry.outcome,
        entry.subject,
        entry.login,
        entry.address,
        dict(entry.detail),
    )
    log.info(
        "audit",
        action=entry.action,
        outcome=entry.outcome,
        subject=entry.subject,
        login=entry.login,
        address=entry.address,
        **entry.detail,
    )
