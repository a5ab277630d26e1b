-- The audit trail of the scenario library's changes (dunning.library.changed), for BI,
-- without personal data: when, the revisions, which scenarios were added, changed or removed
-- (with their versions after), and how many invoices under way were moved or assigned again;
-- not who (the name stays in the scheduler's library_version and on the topic).
CREATE TABLE library_audit_event (
    revision             integer PRIMARY KEY,
    revision_before      integer,
    changed_at           timestamptz NOT NULL,
    scenarios_added      text[] NOT NULL,
    scenarios_changed    text[] NOT NULL,
    scenarios_removed    text[] NOT NULL,
    versions_after       jsonb NOT NULL,  -- {scenario id: version} of the added and changed
    assignment_changed   boolean NOT NULL,
    templates_changed    boolean NOT NULL,
    invoices_moved       integer NOT NULL,
    invoices_reassigned  integer NOT NULL
);
CREATE INDEX library_audit_event_changed ON library_audit_event (changed_at);
