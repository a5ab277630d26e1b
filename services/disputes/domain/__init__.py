"""The disputes service's rules, as plain functions and dataclasses without I/O."""
