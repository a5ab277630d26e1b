-- An outbox row is one record (topic, key, value, headers) or a chunk of records (`records`:
-- consecutive frames, services.runtime.outbox.frames), written by a service that emits
-- thousands of records per transaction (BatchProcessor.outbox_chunks: ingestion). A chunk
-- of about 8 KB holds a dozen ledger events: one heap row, one index entry and one delete
-- instead of a dozen, and one row to decode for the relay (docs/ingestion.md, thirteenth
-- round). The chunk stays in its row, uncompressed: STORAGE EXTERNAL never compresses, and
-- a toast_tuple_target of 8,160 bytes moves nothing out of line below a page.
ALTER TABLE outbox ALTER COLUMN topic DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN value DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN records bytea;
ALTER TABLE outbox ALTER COLUMN records SET STORAGE EXTERNAL;
ALTER TABLE outbox SET (toast_tuple_target = 8160);
ALTER TABLE outbox ADD CONSTRAINT outbox_record_or_chunk
    CHECK (CASE WHEN records IS NULL THEN topic IS NOT NULL AND value IS NOT NULL
                ELSE topic IS NULL AND value IS NULL END);
