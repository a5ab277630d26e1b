"""Relance's command line: the one place that assembles the services.

``relance/`` sits above everything else: it imports the runtime kit, the services and the
simulator, and nothing imports it (import-linter checks both directions, see
``docs/architecture.md``).
"""
