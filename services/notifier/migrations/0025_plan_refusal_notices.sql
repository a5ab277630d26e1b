-- A payment plan the customer proposed on the portal, refused by a credit manager or lapsed
-- undecided, is told to the customer by email too (not only on the portal page).
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('promise_confirmation', 'plan_confirmation', 'plan_refusal',
                    'owner_reminder', 'proposal_reminder', 'announced_payment_unconfirmed'));
