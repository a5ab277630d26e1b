-- Operators' commands executed from dunning.commands.v1 (suspend_sending, resume_sending,
-- launch_campaign), by id: a command delivered twice is applied once. They concern no single
-- customer; their audit is the event each announces (dunning.sending.suspended, ...resumed,
-- dunning.campaign.launched), which carries who did it.
CREATE TABLE executed_operator_command (
    command_id     uuid PRIMARY KEY,
    command        text NOT NULL,
    company_codes  text[] NOT NULL,  -- the scope; empty: every company
    actor_subject  text NOT NULL,
    actor_role     text NOT NULL,
    requested_at   timestamptz NOT NULL,
    executed_at    timestamptz NOT NULL,
    detail         jsonb NOT NULL
);
CREATE INDEX executed_operator_command_at ON executed_operator_command (executed_at);
