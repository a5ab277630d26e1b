-- An invoice's references on the public e-invoicing platform (Chorus Pro in France), as the
-- ledger opened it: the buyer's service code and commitment number, printed beside the
-- invoice on statements and formal notices to a public body. Kept apart from open_items,
-- whose row a settlement deletes and a reversal writes afresh from events that do not carry
-- them.
CREATE TABLE platform_references (
    invoice_id         text PRIMARY KEY,
    service_code       text,
    commitment_number  text,
    CHECK (service_code IS NOT NULL OR commitment_number IS NOT NULL)
);
