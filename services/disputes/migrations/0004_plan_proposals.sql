-- Payment plans proposed by customers on the portal (payment_plan.propose), waiting for a
-- credit manager's acceptance or refusal (payment_plan.accept / payment_plan.refuse) until
-- answer_by, when the tick lets them lapse. An accepted one becomes a payment_plan row of
-- the same id.
CREATE TABLE plan_proposal (
    proposal_id   uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    company_code  text NOT NULL,
    invoice_ids   text[] NOT NULL,
    proposed_on   date NOT NULL,
    proposed_by   text NOT NULL,
    instalments   jsonb NOT NULL,
    currency      text NOT NULL,
    proposed_at   timestamptz NOT NULL,
    answer_by     timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'accepted', 'refused', 'expired')),
    decided_by    text,
    decided_role  text,
    decided_at    timestamptz,
    reason        text
);
CREATE INDEX plan_proposal_customer ON plan_proposal (customer_id);
CREATE INDEX plan_proposal_answer_by ON plan_proposal (answer_by) WHERE status = 'pending';
