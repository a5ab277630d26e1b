-- Every agreement is confirmed to the customer in writing: payment plans too, beside
-- promises (whatever the channel they were made on).
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('promise_confirmation', 'plan_confirmation', 'owner_reminder'));
