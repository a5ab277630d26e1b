-- The proofs of an electronic registered letter [LRE]: besides the deposit proof and the
-- acknowledgement of receipt, the proof that the addressee refused it, let it lapse unclaimed
-- for 15 days [négligence], or that its notification email bounced.
ALTER TABLE delivery_documents DROP CONSTRAINT delivery_documents_kind_check;
ALTER TABLE delivery_documents ADD CONSTRAINT delivery_documents_kind_check CHECK (
    kind IN (
        'deposit_proof',
        'acknowledgement_of_receipt',
        'refusal_proof',
        'negligence_proof',
        'bounce_proof'
    )
);
