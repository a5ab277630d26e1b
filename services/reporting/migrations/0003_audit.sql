-- The audit trail of collectors' commands (dunning.command.executed), for BI, without
-- personal data: the actor's role but not who (their subject stays in the scheduler's
-- executed_command and on the topic), and none of the free text (hold reasons, notes). What a
-- command changed is summed up: how many invoices it touched, and its non-personal arguments.
CREATE TABLE audit_event (
    command_id     uuid PRIMARY KEY,
    command        text NOT NULL,
    customer_id    text NOT NULL,
    company_code   text NOT NULL,
    invoice_id     text,
    actor_role     text NOT NULL,
    requested_at   timestamptz NOT NULL,
    executed_at    timestamptz NOT NULL,
    invoices       integer NOT NULL,
    held_until     date,            -- hold: the day dunning may resume
    scenario_id    text,            -- change_scenario: the scenario chosen
    template       text,            -- send_now: the template sent instead of the next step
    step_name      text,            -- skip_step: the step skipped
    steps_moved    integer NOT NULL -- invoices whose next step or scenario changed
);
CREATE INDEX audit_event_executed ON audit_event (executed_at);
CREATE INDEX audit_event_company ON audit_event (company_code, executed_at);
