-- A proposal whose `on_timeout: send` applied while its customer was held or its company
-- suspended: the policy applied once (timed_out_at), the sending waits; the timeout loop
-- sends it once the hold ended and no suspension covers the company any more.
ALTER TABLE proposal ADD COLUMN send_deferred text
    CHECK (send_deferred IN ('held', 'suspended'));
CREATE INDEX proposal_send_deferred ON proposal (deadline, proposal_id)
    WHERE status = 'pending' AND send_deferred IS NOT NULL;
