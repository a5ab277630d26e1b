-- The outbox's headers become text (the same JSON list of [name, base64 value]): the relay
-- only ever reads them back as text, and rows are now written with COPY, whose binary
-- format has no encoder for the pools' text-format jsonb codec. Text also spares
-- PostgreSQL parsing each row's headers into jsonb on insert.
ALTER TABLE outbox ALTER COLUMN headers DROP DEFAULT;
ALTER TABLE outbox ALTER COLUMN headers TYPE text USING headers::text;
ALTER TABLE outbox ALTER COLUMN headers SET DEFAULT '[]';
