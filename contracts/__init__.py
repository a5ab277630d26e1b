"""Relance's event contracts: the only code the services share with each other.

Every event is a pydantic v2 model with a common envelope (:class:`contracts.envelope.Event`)
and a typed payload. Each Kafka topic carries one discriminated union of events, keyed by
the customer's id so that a customer's events stay ordered on one partition. Topic names,
unions and keying rules live in one registry, :mod:`contracts.topics`.
"""
