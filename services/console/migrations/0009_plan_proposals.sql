-- Payment plans customers proposed on the portal (payment_plan.proposed), for credit
-- managers to accept or refuse (My day, Promises and plans). state follows the disputes
-- service's events (payment_plan.agreed of the same id: accepted; payment_plan.refused:
-- refused or expired); sent_* is the decision this console sent and not yet seen decided.
CREATE TABLE plan_proposals (
    proposal_id     uuid PRIMARY KEY,
    customer_id     text NOT NULL,
    invoice_ids     text[] NOT NULL,
    instalments     jsonb NOT NULL,
    currency        char(3) NOT NULL,
    total           numeric(20, 4) NOT NULL,
    proposed_on     date NOT NULL,
    answer_by       timestamptz NOT NULL,
    answer_day      date NOT NULL,        -- the last day to answer, in the customer's zone
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'accepted', 'refused', 'expired')),
    decided_by      text,
    reason          text,
    sent_decision   text CHECK (sent_decision IN ('accept', 'refuse')),
    sent_by         text,
    sent_command_id uuid,
    sent_at         timestamptz
);
CREATE INDEX plan_proposals_pending ON plan_proposals (answer_by) WHERE state = 'pending';
CREATE INDEX plan_proposals_customer ON plan_proposals (customer_id);
