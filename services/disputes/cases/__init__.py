"""The aggregates' shells: each reads its rows, asks :mod:`services.disputes.domain` to
decide, and writes, inside the caller's transaction. :mod:`services.disputes.casebook`
puts them together for the Kafka handler, the HTTP API and the timers."""
