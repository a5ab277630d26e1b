"""The console's decisions: pure functions of values (no I/O, no framework)."""
