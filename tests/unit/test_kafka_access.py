"""Who may read and write what in Kafka follows the topic registry, and nothing else.

The expected ACLs of every KafkaUser are derived from ``contracts/topics.py``: each
producer and consumer named there is a principal (a service, an ERP connector, the CRM,
operators), and its KafkaUser must grant exactly what that part needs. A service that
starts writing a topic the registry does not give it fails here before it fails in a
cluster with an authorization error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import topics as registry
from contracts.export import RELANCE_SERVICES
from contracts.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]
KAFKA = ROOT / "k8s" / "base" / "kafka"

# The KafkaUser of each principal the registry names that is not one of the services.
EXTERNAL_USERS = {
    "erp": "relance-erp-connector",
    "crm": "relance-crm",
    "ops": "relance-operator",
}
# Kafka Connect's own topics and group (configs, offsets, status), created by the worker.
CONNECT_PREFIX = "relance-erp-connect"

Grant = tuple[str, str, str, str]  # resource type, name, pattern type, operation


def _user_name(principal: str) -> str:
    return f"relance-{principal}" if principal in RELANCE_SERVICES else EXTERNAL_USERS[principal]


def _users() -> dict[str, dict[str, Any]]:
    return {
        document["metadata"]["name"]: document
        for document in yaml.safe_load_all((KAFKA / "users.yaml").read_text())
        if document and document["kind"] == "KafkaUser"
    }


def _grants(user: dict[str, Any]) -> set[Grant]:
    return {
        (
            acl["resource"]["type"],
            acl["resource"]["name"],
            acl["resource"].get("patternType", "literal"),
            operation,
        )
        for acl in user["spec"]["authorization"]["acls"]
        for operation in acl["operations"]
    }


def _principals() -> set[str]:
    return {p for topic in ALL_TOPICS for p in (*topic.producers, *topic.consumers)}


def expected_grants(principal: str) -> set[Grant]:
    """What the registry gives ``principal``: its reads, its writes, its dead letters."""
    expected: set[Grant] = set()
    for topic in ALL_TOPICS:
        if principal in topic.consumers:
            expected |= {("topic", topic.name, "literal", op) for op in ("Read", "Describe")}
            expected |= {
                ("topic", topic.dead_letter, "literal", op) for op in ("Write", "Describe")
            }
        if principal in topic.producers:
            expected |= {("topic", topic.name, "literal", op) for op in ("Write", "Describe")}
    if principal in RELANCE_SERVICES:
        expected |= {
            ("group", f"relance-{principal}", "literal", op) for op in ("Read", "Describe")
        }
    if principal == "console":  # the dead-letter census of its Operations page
        for topic in ALL_TOPICS:
            expected |= {("topic", topic.dead_letter, "literal", op) for op in ("Read", "Describe")}
    if principal == "ops":  # `relance dlq`: read dead letters, replay them to their topic
        for topic in ALL_TOPICS:
            expected |= {("topic", topic.dead_letter, "literal", op) for op in ("Read", "Describe")}
            expected |= {("topic", topic.name, "literal", op) for op in ("Write", "Describe")}
    if principal == "erp":  # Kafka Connect's internal topics and group, nothing more
        expected |= {
            ("topic", CONNECT_PREFIX + ".", "prefix", op)
            for op in ("Read", "Write", "Describe", "Create", "DescribeConfigs")
        }
        expected |= {("group", CONNECT_PREFIX, "prefix", op) for op in ("Read", "Describe")}
    return expected


def test_every_principal_of_the_registry_has_a_user_and_no_user_is_unaccounted() -> None:
    users = set(_users())
    assert {_user_name(p) for p in _principals()} | {"relance-keda"} == users
    assert {f"relance-{s}" for s in RELANCE_SERVICES} <= users


@pytest.mark.parametrize("principal", sorted(_principals()))
def test_user_acls_follow_the_registry(principal: str) -> None:
    user = _users()[_user_name(principal)]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert user["spec"]["authorization"]["type"] == "simple"
    assert _grants(user) == expected_grants(principal)


def test_the_customer_portal_may_write_dispute_commands() -> None:
    """The portal's forms become dispute commands; the portal writes nothing else, and the
    notifier, which only mints the links to it, no dispute command at all."""
    grants = _grants(_users()["relance-portal"])
    assert ("topic", "disputes.commands.v1", "literal", "Write") in grants
    notifier = _grants(_users()["relance-notifier"])
    assert not any(name == "disputes.commands.v1" for _, name, _, op in notifier if op == "Write")
    portal_writes = {
        name
        for kind, name, _, op in _grants(_users()["relance-portal"])
        if kind == "topic" and op == "Write" and not name.endswith(registry.DLQ_SUFFIX)
    }
    assert portal_writes == {"disputes.commands.v1"}


def test_the_erp_connector_writes_erp_and_reference_topics_only() -> None:
    writes = {
        name
        for kind, name, _, op in _grants(_users()["relance-erp-connector"])
        if kind == "topic" and op == "Write"
    }
    for name in writes:
        assert name.startswith(("erp.", "reference.", CONNECT_PREFIX + ".")), name
        assert not name.endswith(registry.DLQ_SUFFIX), name
    assert {t.name for t in registry.ERP_TOPICS} <= writes


def test_external_clients_never_read_relance_topics() -> None:
    for name in ("relance-erp-connector", "relance-crm"):
        reads = {
            n for kind, n, _, op in _grants(_users()[name]) if kind == "topic" and op == "Read"
        }
        assert reads <= {CONNECT_PREFIX + "."}, name
    operator_reads = {
        n
        for kind, n, _, op in _grants(_users()["relance-operator"])
        if kind == "topic" and op == "Read"
    }
    assert operator_reads == {t.dead_letter for t in ALL_TOPICS}


_TOPIC_CONSTANTS = {
    name: value for name, value in vars(registry).items() if isinstance(value, registry.Topic)
}


@pytest.mark.parametrize("service", sorted(RELANCE_SERVICES))
def test_services_use_only_topics_the_registry_gives_them(service: str) -> None:
    """A topic constant named in a service's code is one it produces or consumes."""
    sources = "\n".join(path.read_text() for path in (ROOT / "services" / service).rglob("*.py"))
    used = {name for name in _TOPIC_CONSTANTS if re.search(rf"\b{name}\b", sources)}
    for name in used:
        topic = _TOPIC_CONSTANTS[name]
        assert service in (*topic.producers, *topic.consumers), (service, topic.name)


def _kafka() -> dict[str, Any]:
    (kafka,) = (
        d for d in yaml.safe_load_all((KAFKA / "kafka.yaml").read_text()) if d["kind"] == "Kafka"
    )
    spec: dict[str, Any] = kafka["spec"]["kafka"]
    return spec


def test_external_listener_is_tls_with_scram_and_admits_only_its_peers() -> None:
    listeners = {listener["name"]: listener for listener in _kafka()["listeners"]}
    external = listeners["external"]
    assert external["type"] in {"loadbalancer", "nodeport", "route", "ingress"}
    assert external["tls"] is True
    assert external["authentication"]["type"] in {"scram-sha-512", "tls"}
    assert external["port"] != listeners["tls"]["port"]
    peers = external["networkPolicyPeers"]
    assert peers, "without peers Strimzi's NetworkPolicy admits everyone"
    assert {"namespaceSelector": {"matchLabels": {"relance.io/kafka-client": "true"}}} in peers
    for listener in listeners.values():
        assert listener["tls"] is True
        assert listener["authentication"]["type"] in {"scram-sha-512", "tls"}


def test_brokers_are_rack_aware() -> None:
    kafka = _kafka()
    assert kafka["rack"]["topologyKey"] == "topology.kubernetes.io/zone"
    assert kafka["config"]["replica.selector.class"].endswith("RackAwareReplicaSelector")
