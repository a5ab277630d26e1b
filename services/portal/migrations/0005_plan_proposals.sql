-- Payment plans the customer proposed on the page (payment_plan.proposed), with what became
-- of them (accepted: payment_plan.agreed of the same id; refused or lapsed:
-- payment_plan.refused), so that the page tells the customer. While one waits, its invoices
-- are paused with kind 'proposal'.
ALTER TABLE pauses DROP CONSTRAINT pauses_kind_check;
ALTER TABLE pauses ADD CONSTRAINT pauses_kind_check
    CHECK (kind IN ('dispute', 'promise', 'plan', 'proposal'));

CREATE TABLE plan_proposals (
    proposal_id   uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    company_code  text NOT NULL,
    invoice_ids   text[] NOT NULL,
    instalments   jsonb NOT NULL,        -- [{due_date, amount: {amount, currency}}]
    proposed_on   date NOT NULL,
    answer_by     timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'accepted', 'refused', 'expired')),
    reason        text,
    decided_on    date
);
CREATE INDEX plan_proposals_of_customer ON plan_proposals (customer_id, company_code);
