-- The upserts' amounts travel as text, cast to numeric by the statement: asyncpg's binary
-- numeric encoder takes a Decimal apart in Python-level calls (as_tuple, its digits), about
-- 1.6 us of the replica's CPU per amount against 0.3 for a string, and a batch writes two
-- to three amounts per ERP event (services/ingestion/queries.py; docs/ingestion.md, issue
-- 22, ninth round). str(Decimal) is the value's exact decimal text (an exponent, as in
-- 1E+3, is read by numeric's input as the same number), so the stored values are those
-- the binary form gave.
ALTER TYPE invoice_upsert
    ALTER ATTRIBUTE amount TYPE text,
    ALTER ATTRIBUTE open_amount TYPE text;

ALTER TYPE document_upsert
    ALTER ATTRIBUTE amount TYPE text;

ALTER TYPE balance_upsert
    ALTER ATTRIBUTE balance TYPE text;
