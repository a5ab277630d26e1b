-- Documents a provider returns after sending: a letter's deposit proof [preuve de dépôt],
-- a registered letter's signed acknowledgement of receipt [avis de réception].
CREATE TABLE delivery_documents (
    delivery_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('deposit_proof', 'acknowledgement_of_receipt')),
    content bytea NOT NULL,
    sha256 text NOT NULL,
    received_at timestamptz NOT NULL,
    detail jsonb NOT NULL,
    PRIMARY KEY (delivery_id, kind)
);
