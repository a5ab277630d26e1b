-- Steps to confirm (semi-automatic mode): a proposal waits for a collector's decision.

CREATE TABLE proposal (
    proposal_id      uuid PRIMARY KEY,
    customer_id      text NOT NULL,
    company_code     text NOT NULL,
    version          integer NOT NULL DEFAULT 1,
    -- pending, approved, skipped, postponed, withdrawn
    status           text NOT NULL DEFAULT 'pending',
    scenario_id      text NOT NULL,
    step_name        text NOT NULL,
    -- the invoices waiting at the step: {invoice_id: the identity of the step}
    steps            jsonb NOT NULL,
    -- the Proposal payload of the current version (its reminder, paragraphs, deadline, ...)
    payload          jsonb NOT NULL,
    confirm_role     text NOT NULL,
    on_timeout       text NOT NULL,
    deadline         timestamptz NOT NULL,
    remind_owner_at  timestamptz NOT NULL,
    -- set when the deadline passed and the policy applied (a 'hold' keeps it pending)
    timed_out_at     timestamptz,
    raised_at        timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       text,
    decision_reason  text
);
CREATE INDEX proposal_customer ON proposal (customer_id, raised_at);
CREATE INDEX proposal_deadline ON proposal (deadline)
    WHERE status = 'pending' AND timed_out_at IS NULL;
