-- A reminder's payload is kept as the text the tick wrote (`json`: checked, not parsed into
-- `jsonb`'s binary form). The tick writes a whole batch's payloads at once and parsing each
-- into `jsonb` was a visible share of PostgreSQL's work per reminder; the payload is only
-- read back whole (fallbacks, calls), never searched, so nothing needed `jsonb`.
ALTER TABLE sent_reminder ALTER COLUMN payload TYPE json USING payload::json;
