"""The small kit every Relance service stands on.

One concept per module:

- ``settings``: typed settings per component, read from the environment once at start;
- ``database``: the asyncpg pool and its codecs;
- ``migrations``: ordered SQL migrations per service schema (yoyo);
- ``inbox``: the idempotent inbox, applied ``event_id``s stored with the state change;
- ``records``: a record for Kafka as a value, free of any driver (domain code builds them);
- ``outbox``: the transactional outbox and its relay to Kafka;
- ``dead_letter``: records that cannot be applied, with their reason;
- ``consumer``: the plumbing that turns Kafka batches into transactions of a handler;
- ``clock``: the wall clock and a simulated clock;
- ``logs``: structured JSON logging without personal data;
- ``metrics`` and ``health``: Prometheus metrics and ``/healthz`` ``/readyz``;
- ``loops``: ``every(interval, step)``, a periodic job under the supervisor;
- ``service``: supervised background tasks and graceful shutdown;
- ``errors``: ``RelanceError``, the root of every exception, and the kit's own.

The kit imports nothing above it (no service, no command line, no simulator): the
``relance`` command line lives in the top-level ``relance/`` package.
"""
