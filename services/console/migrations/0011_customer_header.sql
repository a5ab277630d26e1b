-- The customer page's header: the customer's segment tags (the account team's tags,
-- `<role>:<member>` such as `collector:C12`, are read from them) and, per invoice, the
-- instant a hold lifts (dunning.state.changed's paused_until).
ALTER TABLE customers ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE invoices ADD COLUMN paused_until timestamptz;
