"""Pure ledger rules of ingestion: no I/O, only dataclasses and functions."""
