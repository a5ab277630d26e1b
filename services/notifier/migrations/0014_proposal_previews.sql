-- Proposals (steps to confirm): each version rendered exactly as it would be sent, kept so
-- that the collector previews it and an approval sends those very bytes.
CREATE TABLE proposal_previews (
    proposal_id      uuid NOT NULL,
    version          integer NOT NULL,
    customer_id      text NOT NULL,
    company_code     text NOT NULL,
    channel          text NOT NULL,
    proposal         jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'rendered', 'failed')),
    created_at       timestamptz NOT NULL,
    rendered_at      timestamptz,
    content          bytea,
    content_sha256   text,
    media_type       text,
    recipients       text[],
    tracking_id      text,
    invoice_ids      text[],
    reason           text,
    PRIMARY KEY (proposal_id, version)
);
CREATE INDEX proposal_previews_pending ON proposal_previews (created_at) WHERE status = 'pending';

-- The collectors' reminder of a proposal nobody decided yet is a notice.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('promise_confirmation', 'plan_confirmation', 'owner_reminder',
                    'proposal_reminder'));
-- a proposal's reminder is cancelled when the proposal is decided first
ALTER TABLE notices DROP CONSTRAINT notices_status_check;
ALTER TABLE notices ADD CONSTRAINT notices_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled'));

-- Files a collector adds to a proposal's email, uploaded before the edit that cites them.
CREATE TABLE proposal_attachments (
    proposal_id   uuid NOT NULL,
    sha256        text NOT NULL,
    company_code  text NOT NULL,
    media_type    text NOT NULL,
    content       bytea NOT NULL,
    uploaded_by   text NOT NULL,
    uploaded_at   timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, sha256)
);
