-- Proposals: steps that wait for a collector's confirmation (dunning.proposal.raised, a new
-- version after each edit), their rendering by the notifier (notifier.proposal.rendered,
-- the digest and where the bytes are served) and how each ended
-- (dunning.proposal.decided: approved, skipped, postponed, withdrawn, by whom).
CREATE TABLE proposals (
    proposal_id      uuid PRIMARY KEY,
    version          integer NOT NULL,
    customer_id      text NOT NULL,
    company_code     text NOT NULL,
    reminder_id      uuid NOT NULL,
    channel          text NOT NULL,
    level            text NOT NULL,
    step_name        text NOT NULL,
    template         text NOT NULL,
    recipient_role   text,
    confirm_role     text NOT NULL,
    deadline         timestamptz NOT NULL,
    on_timeout       text NOT NULL,
    paragraphs       jsonb NOT NULL DEFAULT '{}',
    invoice_ids      text[] NOT NULL,
    invoice_numbers  text[] NOT NULL,
    currency         char(3) NOT NULL,
    at_risk          numeric(20, 4) NOT NULL,
    edited_by        text,
    raised_at        timestamptz NOT NULL,
    -- the rendering of the current version (null until the notifier announced it)
    rendered         boolean,
    digest           text,
    media_type       text,
    preview_path     text,
    render_reason    text,
    rendered_at      timestamptz,
    -- how it ended (null while it waits)
    decision         text,
    decided_by       text,
    decided_at       timestamptz,
    decision_reason  text,
    postponed_until  date
);
CREATE INDEX proposals_waiting ON proposals (deadline) WHERE decision IS NULL;
CREATE INDEX proposals_customer ON proposals (customer_id, raised_at DESC);
