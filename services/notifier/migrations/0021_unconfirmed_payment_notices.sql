-- A payment a provider announced on the portal that the ERP did not confirm in time (or
-- that the provider reported failed) is brought to the account's owners as a notice.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('promise_confirmation', 'plan_confirmation', 'owner_reminder',
                    'proposal_reminder', 'announced_payment_unconfirmed'));
