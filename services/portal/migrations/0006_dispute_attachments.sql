-- Disputes and the documents the customer attached (dispute.opened, schema version 2), for
-- the owner's page behind a link scoped to one dispute: the documents are served from the
-- document store only through their dispute.
CREATE TABLE owner_disputes (
    dispute_id    uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    category      text NOT NULL,
    text          text NOT NULL,
    invoice_ids   text[] NOT NULL,
    whole_account boolean NOT NULL,
    owner_role    text NOT NULL,
    due_date      date NOT NULL,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved'))
);

CREATE TABLE dispute_attachments (
    dispute_id  uuid NOT NULL REFERENCES owner_disputes (dispute_id),
    number      integer NOT NULL,          -- 1 for the first document attached
    reference   text NOT NULL,             -- its key in the document store
    media_type  text NOT NULL,
    size        bigint NOT NULL,
    sha256      text NOT NULL,
    file_name   text NOT NULL,             -- as sent, for display only
    PRIMARY KEY (dispute_id, number)
);
