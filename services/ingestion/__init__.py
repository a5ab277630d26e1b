"""The ingestion service: ERP streams in; the exact receivables ledger and ledger events out."""
