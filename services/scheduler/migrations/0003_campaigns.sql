-- Customers an ad-hoc campaign reached: a campaign run again reaches nobody twice.
CREATE TABLE campaign_contact (
    campaign_id    text NOT NULL,
    customer_id    text NOT NULL,
    reminder_id    uuid NOT NULL,
    invoice_ids    text[] NOT NULL,
    scheduled_for  timestamptz NOT NULL,
    reached_at     timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
