-- A promise's kind: a customer's promise, or a payment a provider announced (the portal's
-- card payments), which waits its own time for the ERP's payment and, if that does not
-- come, resumes the invoices with an alert instead of counting as a broken promise.
ALTER TABLE promise ADD COLUMN kind text NOT NULL DEFAULT 'promise'
    CHECK (kind IN ('promise', 'payment_announced'));

-- The documents attached to a dispute (dispute.open, schema version 2), as references
-- into the document store: [{reference, media_type, size, sha256, file_name}].
ALTER TABLE dispute ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';

-- Customers' requests to be called back (callback.request, from the portal), for the
-- account's owner: open until a collector marks them done.
CREATE TABLE callback_request (
    request_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    company_code  text NOT NULL,
    phone         text NOT NULL,
    on_day        date NOT NULL,
    slot          text NOT NULL CHECK (slot IN ('morning', 'afternoon')),
    invoice_ids   text[] NOT NULL DEFAULT '{}',
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done'))
);
CREATE INDEX callback_request_open ON callback_request (on_day, slot) WHERE status = 'open';
CREATE INDEX callback_request_customer ON callback_request (customer_id);
