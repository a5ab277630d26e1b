-- The owner's page becomes interactive: what the owner answered (dispute.answered), the
-- documents they attached (beside the customer's, answer_id set), and how the dispute was
-- resolved (dispute.resolved: outcome, note, correction expected), shown once it is.
ALTER TABLE owner_disputes
    ADD COLUMN outcome              text,
    ADD COLUMN resolution_note      text,
    ADD COLUMN resolved_by          text,
    ADD COLUMN correction_kind      text,
    ADD COLUMN correction_reference text,
    ADD COLUMN correction_amount    numeric,
    ADD COLUMN correction_currency  text;

ALTER TABLE dispute_attachments ADD COLUMN answer_id uuid;  -- null: attached by the customer

CREATE TABLE owner_answers (
    answer_id   uuid PRIMARY KEY,
    dispute_id  uuid NOT NULL REFERENCES owner_disputes (dispute_id),
    answered_by text NOT NULL,
    text        text NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX owner_answers_dispute ON owner_answers (dispute_id, at);
