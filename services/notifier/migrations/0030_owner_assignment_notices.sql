-- A dispute's owner is told at once when a dispute is opened (or reopened) for them, with
-- the signed link to its page on the portal, not only when its due date has passed.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('promise_confirmation', 'plan_confirmation', 'plan_refusal',
                    'owner_reminder', 'owner_assignment', 'proposal_reminder',
                    'announced_payment_unconfirmed'));
