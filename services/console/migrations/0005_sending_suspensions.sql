-- Sending suspended and resumed (dunning.sending.suspended / resumed on dunning.actions.v1):
-- the Operations page lists the suspensions in force and offers to resume them.
CREATE TABLE sending_suspensions (
    suspension_id  uuid PRIMARY KEY,
    company_code   text,  -- NULL: every company
    suspended_by   text NOT NULL,
    reason         text NOT NULL,
    suspended_at   timestamptz NOT NULL,
    resumed_by     text,
    resumed_at     timestamptz
);
CREATE INDEX sending_suspensions_in_force ON sending_suspensions (suspended_at)
    WHERE resumed_at IS NULL;
