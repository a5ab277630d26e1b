-- Each change of an open item's open amount, with its value date (payments, credit notes,
-- reversals), in the order consumed: statements compute late interest on the open amount
-- of each day, a partial payment reducing the base from its value date (docs/law.md).
ALTER TABLE open_items ADD COLUMN open_amount_changes jsonb NOT NULL DEFAULT '[]'::jsonb;
