"""Structural checks of the Kubernetes manifests, the image and the alerts, against the code.

Schema validation of the built overlays is ``scripts/check-k8s`` (kustomize + kubeconform);
these tests read the base's YAML directly and check what a schema cannot: that it agrees
with ``contracts/topics.py``, the services' settings and their metrics.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from pydantic_settings import BaseSettings

from contracts.topics import ALL_TOPICS, Topic
from relance.cli import SERVICES
from services.runtime import service as service_module
from services.runtime.service import ServiceDefinition
from services.runtime.settings import DatabaseSettings, KafkaSettings, ServiceSettings, load

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "k8s" / "base"
OVERLAYS = ROOT / "k8s" / "overlays"
RUNBOOK = ROOT / "docs" / "operations.md"
REQUIRED_ALERTS = {
    "RelanceServiceDown",
    "RelanceCrashLooping",
    "RelanceBrokerConsumerLag",
    "RelanceDeadLetterGrowth",
    "RelanceHttpErrors",
    "RelanceBackupFailed",
    "RelanceBackupLate",
    "RelanceWalArchivingFailing",
    "RelanceVolumeFilling",
    "RelanceLedgerStale",
    "RelanceConsumerLagGrowing",
    "RelanceDeadLetterRate",
    "RelanceOutboxBacklog",
    "RelanceDeliveryFailures",
    "RelanceSchedulerStalled",
}
RUNBOOK_BASE = "https://docs.relance.example.com/operations"
Manifest = dict[str, Any]


def _documents() -> Iterator[Manifest]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((BASE / resource).read_text()):
            if document:
                yield document


MANIFESTS = list(_documents())


def _of_kind(kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in MANIFESTS if m["kind"] == kind}


def _consumed(service: str) -> list[Topic]:
    return [topic for topic in ALL_TOPICS if service in topic.consumers]


def _produced(service: str) -> list[Topic]:
    return [topic for topic in ALL_TOPICS if service in topic.producers]


def _settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    (settings_class,) = (
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    )
    return settings_class


def _definition(service: str) -> ServiceDefinition:
    definition: ServiceDefinition = importlib.import_module(f"services.{service}.app").DEFINITION
    return definition


def _container(service: str) -> Manifest:
    deployment = _of_kind("Deployment")[f"relance-{service}"]
    containers: list[Manifest] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _config(service: str) -> dict[str, str]:
    config_maps = _of_kind("ConfigMap")
    return {**config_maps["relance-common"]["data"], **config_maps[f"relance-{service}"]["data"]}


def test_one_deployment_per_service_running_it() -> None:
    assert set(_of_kind("Deployment")) == {f"relance-{s}" for s in SERVICES}
    for service in SERVICES:
        assert _container(service)["args"] == ["run", service]


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_probes_resources_and_security(service: str) -> None:
    pod = _of_kind("Deployment")[f"relance-{service}"]["spec"]["template"]["spec"]
    container = _container(service)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


@pytest.mark.parametrize("service", SERVICES)
def test_settings_come_from_config_maps_and_secrets(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(service)
    refs = [
        source.get("configMapRef", source.get("secretRef"))["name"]
        for source in container["envFrom"]
    ]
    assert refs[:2] == ["relance-common", f"relance-{service}"]
    environment = dict(_config(service))
    for variable in container["env"]:
        if "valueFrom" in variable:
            assert set(variable["valueFrom"]) == {"secretKeyRef"}
            environment[variable["name"]] = f"secret-{variable['name'].lower()}"
        else:  # Kubernetes expands $(NAME) from the variables defined before
            environment[variable["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: environment[m.group(1)], variable["value"]
            )
    for name, value in environment.items():
        # a file the pod mounts from a ConfigMap an overlay generates: the dev overlay's copy,
        # which must load too
        if value == "/etc/relance/companies/companies.yaml":
            value = str(ROOT / "k8s/overlays/dev/companies.yaml")
        monkeypatch.setenv(name, value)

    settings = load(_settings_class(service))

    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == 8080
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_username == f"relance-{service}"
    assert settings.kafka.ssl_cafile is not None
    url = settings.database.url.get_secret_value()
    assert "sslmode=verify-full" in url
    assert "secret-database_password" in url


@pytest.mark.parametrize("service", SERVICES)
def test_every_configured_variable_is_a_setting(service: str) -> None:
    prefixes: dict[str, type[BaseSettings]] = {
        f"RELANCE_{service.upper()}_": _settings_class(service),
        "KAFKA_": KafkaSettings,
        "DATABASE_": DatabaseSettings,
    }
    url_parts = {"DATABASE_HOST", "DATABASE_USERNAME", "DATABASE_PASSWORD"}
    names = set(_config(service)) | {v["name"] for v in _container(service)["env"]}
    accepted = set().union(*(_accepted_names(cls, prefix) for prefix, cls in prefixes.items()))
    read_by_uvicorn = {"FORWARDED_ALLOW_IPS"}  # whose X-Forwarded-* headers it trusts
    for name in sorted(names - url_parts - read_by_uvicorn):
        if name.startswith("PYTHON"):
            continue
        assert name in accepted, name


def _accepted_names(settings: type[BaseSettings], prefix: str) -> set[str]:
    """The environment names a settings class reads: its prefixed fields, their aliases,
    and those of the settings nested in it under their own prefixes."""
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            if nested not in (KafkaSettings, DatabaseSettings):
                names |= _accepted_names(nested, str(nested.model_config.get("env_prefix", "")))
            continue
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif alias is not None:
            choices = getattr(alias, "choices", ())
            names |= {str(c).upper() for c in choices if isinstance(c, str)}
        names.add(f"{prefix}{field_name}".upper())
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_grace_period_outlasts_the_drain(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pod = _of_kind("Deployment")[f"relance-{service}"]["spec"]["template"]["spec"]
    monkeypatch.delenv(f"RELANCE_{service.upper()}_DRAIN_TIMEOUT_S", raising=False)
    default_drain = load(_settings_class(service)).drain_timeout_s
    configured = float(_config(service).get(f"RELANCE_{service.upper()}_DRAIN_TIMEOUT_S", "0"))
    drain = max(default_drain, configured)
    # Every stage of a stop (services/runtime/service.py): the batch's drain and the
    # consumer leaving its group, the loops and the relay stopping meanwhile, then closing
    # the hooks, producer, pool and HTTP server; plus a margin for the kubelet's signal.
    stages = drain + service_module.CONSUMER_STOP_MARGIN_S + service_module.CLOSE_TIMEOUT_S
    assert service_module.worst_case_stop_s(drain) == stages
    assert pod["terminationGracePeriodSeconds"] >= stages + 5


@pytest.mark.parametrize("service", SERVICES)
def test_disruption_budget_and_service_select_the_deployment(service: str) -> None:
    labels = _of_kind("Deployment")[f"relance-{service}"]["spec"]["selector"]["matchLabels"]
    budget = _of_kind("PodDisruptionBudget")[f"relance-{service}"]["spec"]
    assert budget["selector"]["matchLabels"] == labels
    assert _of_kind("Service")[f"relance-{service}"]["spec"]["selector"] == labels


@pytest.mark.parametrize("service", SERVICES)
def test_scaled_object_follows_the_consumer_group_and_partitions(service: str) -> None:
    scaled = _of_kind("ScaledObject")[f"relance-{service}"]["spec"]
    consumed = _consumed(service)
    assert scaled["scaleTargetRef"]["name"] == f"relance-{service}"
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    assert scaled["maxReplicaCount"] <= max(topic.partitions for topic in consumed)
    triggers = [t for t in scaled["triggers"] if t["type"] == "kafka"]
    assert {t["metadata"]["topic"] for t in triggers} == {topic.name for topic in consumed}
    for trigger in triggers:
        assert trigger["metadata"]["consumerGroup"] == _definition(service).group_id
        assert trigger["metadata"]["allowIdleConsumers"] == "false"


def test_overlays_keep_replicas_within_partitions() -> None:
    widest = min(max(t.partitions for t in _consumed(s)) for s in SERVICES)
    for overlay in OVERLAYS.iterdir():
        text = (overlay / "kustomization.yaml").read_text()
        for value in re.findall(r"path: /spec/(?:max|min)ReplicaCount\s+value: (\d+)", text):
            assert int(value) <= widest, overlay.name


def test_every_topic_and_dead_letter_topic_is_declared() -> None:
    declared = {m["spec"]["topicName"]: m["spec"] for m in _of_kind("KafkaTopic").values()}
    assert set(declared) == {t.name for t in ALL_TOPICS} | {t.dead_letter for t in ALL_TOPICS}
    for topic in ALL_TOPICS:
        spec = declared[topic.name]
        assert spec["partitions"] == topic.partitions
        for key, value in topic.extra_config.items():
            assert spec["config"][key] == value, (topic.name, key)
        assert spec["config"]["cleanup.policy"] == "delete"  # never compacted, see topics.py
        assert declared[topic.dead_letter]["partitions"] >= 1
    for manifest in _of_kind("KafkaTopic").values():
        assert manifest["metadata"]["labels"]["strimzi.io/cluster"] == "relance"


@pytest.mark.parametrize("service", SERVICES)
def test_kafka_user_has_only_its_contract_acls(service: str) -> None:
    user = _of_kind("KafkaUser")[f"relance-{service}"]["spec"]
    assert user["authentication"]["type"] == "scram-sha-512"
    grants = {
        (acl["resource"]["type"], acl["resource"]["name"], operation)
        for acl in user["authorization"]["acls"]
        for operation in acl["operations"]
    }
    expected = {("group", f"relance-{service}", op) for op in ("Read", "Describe")}
    for topic in _consumed(service):
        expected |= {("topic", topic.name, op) for op in ("Read", "Describe")}
        expected |= {("topic", topic.dead_letter, op) for op in ("Write", "Describe")}
    for topic in _produced(service):
        expected |= {("topic", topic.name, op) for op in ("Write", "Describe")}
    if service == "console":  # the dead-letter census of its Operations page
        expected |= {
            ("topic", t.dead_letter, op) for t in ALL_TOPICS for op in ("Read", "Describe")
        }
    assert grants == expected


def _roles() -> dict[str, Manifest]:
    cluster = _of_kind("Cluster")["relance-db"]["spec"]
    return {role["name"]: role for role in cluster["managed"]["roles"]}


def _bootstrap_sql() -> list[str]:
    statements: list[str] = _of_kind("Cluster")["relance-db"]["spec"]["bootstrap"]["initdb"][
        "postInitApplicationSQL"
    ]
    return statements


def test_postgres_cluster_has_the_bi_read_only_role() -> None:
    role = _roles()["relance_bi"]
    assert role["login"] is True
    assert not any(role[flag] for flag in ("superuser", "createdb", "createrole", "replication"))
    assert role["passwordSecret"]["name"] == "relance-db-bi"
    grants = " ".join(_bootstrap_sql())
    assert (
        "ALTER DEFAULT PRIVILEGES FOR ROLE relance_reporting IN SCHEMA reporting "
        "GRANT SELECT ON TABLES TO relance_bi" in grants
    )
    assert "INSERT" not in grants
    assert "UPDATE" not in grants


def test_each_service_has_its_own_database_role_owning_its_schema() -> None:
    assert set(_roles()) == {f"relance_{s}" for s in SERVICES} | {"relance_bi"}
    statements = _bootstrap_sql()
    for service in SERVICES:
        role = _roles()[f"relance_{service}"]
        assert role["login"] is True
        assert not any(role.get(flag) for flag in ("superuser", "createdb", "createrole"))
        assert role["passwordSecret"]["name"] == f"relance-db-{service}"
        schema = _definition(service).schema
        assert f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION relance_{service}" in statements
        env = {v["name"]: v for v in _container(service)["env"]}
        for variable in ("DATABASE_USERNAME", "DATABASE_PASSWORD"):
            secret = env[variable]["valueFrom"]["secretKeyRef"]
            assert secret["name"] == f"relance-db-{service}", (service, variable)


@pytest.mark.parametrize("service", SERVICES)
def test_database_connection_limit_covers_the_pools_at_full_scale(service: str) -> None:
    pool = int(_of_kind("ConfigMap")["relance-common"]["data"]["DATABASE_POOL_MAX_SIZE"])
    replicas = _of_kind("ScaledObject")[f"relance-{service}"]["spec"]["maxReplicaCount"]
    surge = 1  # the Deployments' maxSurge
    migrations = 2  # yoyo's connection and the schema check, at start
    triggers = _of_kind("ScaledObject")[f"relance-{service}"]["spec"]["triggers"]
    keda = sum(1 for t in triggers if t["type"] == "postgresql")  # KEDA's own connection
    # beside its pool, each pod's connections of its own: the notifier's dispatcher listens
    own = 1 if service == "notifier" else 0
    limit = _roles()[f"relance_{service}"]["connectionLimit"]
    assert limit >= (pool + own) * (replicas + surge) + migrations + keda


def test_dev_overlay_generates_every_database_secret() -> None:
    kustomization = yaml.safe_load((OVERLAYS / "dev" / "kustomization.yaml").read_text())
    generated = {secret["name"]: secret for secret in kustomization["secretGenerator"]}
    for role in _roles().values():
        secret = generated[role["passwordSecret"]["name"]]
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert f"username={role['name']}" in secret["literals"]


def test_network_policies_deny_by_default_and_open_the_internet_to_the_providers_clients() -> None:
    """The notifier (mail, SMS, calls) and the portal (Stripe, invoice copies) alone reach
    outside the cluster; the portal over HTTPS only."""
    policies = _of_kind("NetworkPolicy")
    deny = policies["relance-services-default-deny"]["spec"]
    assert deny["podSelector"]["matchLabels"] == {"relance.io/workload": "service"}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    with_ip_blocks = {
        name
        for name, policy in policies.items()
        for rule in policy["spec"].get("egress", [])
        for peer in rule["to"]
        if "ipBlock" in peer
    }
    assert with_ip_blocks == {"relance-notifier-providers", "relance-portal-providers"}
    portal = policies["relance-portal-providers"]["spec"]
    assert portal["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "relance-portal"}
    assert [port["port"] for rule in portal["egress"] for port in rule["ports"]] == [443]


def test_base_admits_only_prometheus_into_the_notifier() -> None:
    """The SMS callbacks' way in is the production overlay's, not the base's; the console
    reaches the HTTP port alone, for proposals' previews."""
    notifier = {"app.kubernetes.io/name": "relance-notifier", "relance.io/workload": "service"}
    for name, policy in _of_kind("NetworkPolicy").items():
        selected = policy["spec"]["podSelector"]["matchLabels"].items()
        if not selected <= notifier.items():
            continue
        if name == "relance-notifier-from-console":
            (rule,) = policy["spec"]["ingress"]
            assert rule["from"] == [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "relance-console"}}}
            ]
            assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
            continue
        for rule in policy["spec"].get("ingress", []):
            assert rule["from"] == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                }
            ], name


def test_prod_publishes_only_the_sms_status_callback_over_https() -> None:
    documents = [
        d for d in yaml.safe_load_all((OVERLAYS / "prod" / "sms-callbacks.yaml").read_text()) if d
    ]
    by_kind = {d["kind"]: d for d in documents}
    assert len(by_kind) == len(documents) == 3
    gateway, route = by_kind["Gateway"], by_kind["HTTPRoute"]
    listeners = gateway["spec"]["listeners"]
    for listener in listeners:
        assert listener["protocol"] == "HTTPS"
        assert listener["tls"]["mode"] == "Terminate"
        assert listener["tls"]["certificateRefs"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [
        {"path": {"type": "Exact", "value": "/sms/status"}, "method": "POST"}
    ]
    assert rule["backendRefs"] == [{"name": "relance-notifier", "port": 8080}]
    assert _of_kind("Service")["relance-notifier"]["spec"]["ports"][0]["port"] == 8080
    notifier_routes = (
        ROOT / "services" / "notifier" / "channels" / "sms" / "status.py"
    ).read_text()
    assert 'add_api_route("/sms/status", self.receive, methods=["POST"])' in notifier_routes
    assert {ref["name"] for ref in route["spec"]["parentRefs"]} == {gateway["metadata"]["name"]}
    (hostname,) = route["spec"]["hostnames"]
    assert hostname in {listener["hostname"] for listener in listeners}
    # Twilio signs with the URL the notifier is configured with: it must be the route's.
    kustomization = (OVERLAYS / "prod" / "kustomization.yaml").read_text()
    assert f"value: https://{hostname}/sms/status" in kustomization
    assert "sms-callbacks.yaml" in yaml.safe_load(kustomization)["resources"]

    policy = by_kind["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "relance-notifier"}
    (ingress,) = policy["ingress"]
    (peer,) = ingress["from"]
    assert (
        peer["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"]
        == (gateway["metadata"]["name"])
    )
    assert "namespaceSelector" in peer
    assert ingress["ports"] == [{"port": 8080, "protocol": "TCP"}]


def _routed(route: Manifest, path: str) -> bool:
    """Whether one of the route's matches sends ``path`` to its backend."""
    for rule in route["spec"]["rules"]:
        for match in rule["matches"]:
            kind, value = match["path"]["type"], match["path"]["value"]
            if path == value or (kind == "PathPrefix" and path.startswith(value + "/")):
                return True
    return False


def _served_paths(pages: Path) -> set[str]:
    """The paths a service's router serves, its path parameters filled in."""
    paths = re.findall(r'add_api_route\(\s*"([^"]+)"', pages.read_text())
    assert paths, pages
    return {re.sub(r"\{[^}]+\}", "x", path) for path in paths}


def test_prod_routes_the_portal_and_the_console_and_nothing_operational() -> None:
    documents = [
        d for d in yaml.safe_load_all((OVERLAYS / "prod" / "front-doors.yaml").read_text()) if d
    ]
    kustomization_text = (OVERLAYS / "prod" / "kustomization.yaml").read_text()
    assert "front-doors.yaml" in yaml.safe_load(kustomization_text)["resources"]
    (gateway,) = (d for d in documents if d["kind"] == "Gateway")
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    for listener in listeners.values():
        assert listener["protocol"] == "HTTPS"
        assert listener["tls"]["mode"] == "Terminate"
        assert listener["tls"]["certificateRefs"]
    routes = {d["metadata"]["name"]: d for d in documents if d["kind"] == "HTTPRoute"}
    assert set(routes) == {"relance-portal", "relance-console", "relance-scheduler"}
    for service, pages in (
        ("portal", ROOT / "services" / "portal" / "pages.py"),
        ("console", ROOT / "services" / "console" / "web" / "pages.py"),
    ):
        route = routes[f"relance-{service}"]
        (parent,) = route["spec"]["parentRefs"]
        assert parent["name"] == gateway["metadata"]["name"]
        assert route["spec"]["hostnames"] == [listeners[parent["sectionName"]]["hostname"]]
        for rule in route["spec"]["rules"]:
            assert rule["backendRefs"] == [{"name": f"relance-{service}", "port": 8080}]
        for path in _served_paths(pages):
            assert _routed(route, path), (service, path)
        for path in ("/metrics", "/healthz", "/readyz"):
            assert not _routed(route, path), (service, path)
    # The links the notifier mints lead to the portal's route.
    portal_host = routes["relance-portal"]["spec"]["hostnames"][0]
    links_base = _of_kind("ConfigMap")["relance-portal"]["data"]["RELANCE_LINKS_BASE_URL"]
    assert links_base == f"https://{portal_host}"
    assert _routed(routes["relance-portal"], "/portal/some-token")
    # The identity provider sends the browser back to the console's own listener.
    console_host = routes["relance-console"]["spec"]["hostnames"][0]
    assert f"value: https://{console_host}/sign-in/oidc/callback" in kustomization_text
    # Only the Gateway's proxies reach the three services' port.
    policies = {d["metadata"]["name"]: d["spec"] for d in documents if d["kind"] == "NetworkPolicy"}
    for service in ("portal", "console", "scheduler"):
        policy = policies[f"relance-{service}-gateway"]
        assert policy["podSelector"]["matchLabels"] == {
            "app.kubernetes.io/name": f"relance-{service}"
        }
        (ingress,) = policy["ingress"]
        (peer,) = ingress["from"]
        labels = peer["podSelector"]["matchLabels"]
        assert labels["gateway.envoyproxy.io/owning-gateway-name"] == gateway["metadata"]["name"]
        assert ingress["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert all("ingress" not in p for n, p in policies.items() if not n.endswith("-gateway"))


def _commands_api_paths() -> set[str]:
    """The paths the scheduler's commands API serves, parameters filled in."""
    from services.scheduler.api import PREFIX, command_kinds

    paths = {kind.path for kind in command_kinds()}
    assert len(paths) >= 12, paths  # hold ... approve_proposals
    return paths | {f"{PREFIX}/x", "/auth/sign-in", "/auth/identity", "/openapi.json"}


def test_prod_routes_the_scheduler_commands_api_only() -> None:
    """A CRM reaches the commands API through the Gateway, on its own HTTPS listener:
    every command, its outcome, sign-in and OpenAPI; never health or metrics."""
    documents = [
        d for d in yaml.safe_load_all((OVERLAYS / "prod" / "front-doors.yaml").read_text()) if d
    ]
    (gateway,) = (d for d in documents if d["kind"] == "Gateway")
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    (route,) = (
        d
        for d in documents
        if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "relance-scheduler"
    )
    (parent,) = route["spec"]["parentRefs"]
    listener = listeners[parent["sectionName"]]
    assert listener["protocol"] == "HTTPS"
    assert route["spec"]["hostnames"] == [listener["hostname"]]
    for rule in route["spec"]["rules"]:
        assert rule["backendRefs"] == [{"name": "relance-scheduler", "port": 8080}]
    for path in _commands_api_paths():
        assert _routed(route, path), path
    for path in ("/metrics", "/healthz", "/readyz", "/v1/other"):
        assert not _routed(route, path), path
    # the Service's port is the container's http port, where the API listens
    (port,) = _of_kind("Service")["relance-scheduler"]["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8080, "http")
    # the API accepts the provider's tokens issued for it
    kustomization = yaml.safe_load((OVERLAYS / "prod" / "kustomization.yaml").read_text())
    (patch,) = (
        p["patch"]
        for p in kustomization["patches"]
        if p.get("target", {}) == {"kind": "ConfigMap", "name": "relance-scheduler"}
    )
    operations = {op["path"]: op["value"] for op in yaml.safe_load(patch)}
    assert set(operations) == {"/data/RELANCE_AUTH_OIDC_ISSUER", "/data/RELANCE_AUTH_OIDC_AUDIENCE"}


def test_the_scheduler_api_takes_its_credentials_from_a_secret_and_admits_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RELANCE_AUTH_* from the Secret relance-scheduler-auth (optional: the API is then
    closed, 401); the console's pods and Prometheus alone reach the port in the base."""
    from services.runtime.auth import Authenticator
    from services.runtime.clock import SystemClock
    from services.scheduler.settings import SchedulerSettings

    env = {v["name"]: v for v in _container("scheduler")["env"]}
    for name, key in (
        ("RELANCE_AUTH_API_KEYS", "api-keys"),
        ("RELANCE_AUTH_SIGNING_KEYS", "signing-keys"),
    ):
        assert env[name]["valueFrom"]["secretKeyRef"] == {
            "name": "relance-scheduler-auth",
            "key": key,
            "optional": True,
        }
    # the dev overlay's Secret holds keys the scheduler accepts
    dev = yaml.safe_load((OVERLAYS / "dev" / "kustomization.yaml").read_text())
    (secret,) = (g for g in dev["secretGenerator"] if g["name"] == "relance-scheduler-auth")
    literals = dict(literal.split("=", 1) for literal in secret["literals"])
    monkeypatch.setenv("RELANCE_AUTH_API_KEYS", literals["api-keys"])
    monkeypatch.setenv("RELANCE_AUTH_SIGNING_KEYS", literals["signing-keys"])
    settings = load(SchedulerSettings)
    assert Authenticator("scheduler", settings.auth, SystemClock()).configured
    assert literals["api-keys"].startswith("collector:crm:")
    # the probes that take a pod out of the API's Service
    container = _container("scheduler")
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    policies = _of_kind("NetworkPolicy")
    scheduler = {"app.kubernetes.io/name": "relance-scheduler", "relance.io/workload": "service"}
    admitted = []
    for policy in policies.values():
        if policy["spec"]["podSelector"]["matchLabels"].items() <= scheduler.items():
            for rule in policy["spec"].get("ingress", []):
                assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
                admitted.extend(rule["from"])
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "relance-console"}}} in (
        admitted
    )
    assert len(admitted) == 2  # the console and Prometheus
    egress = policies["relance-console-scheduler"]["spec"]
    assert egress["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "relance-console"}
    ((rule),) = egress["egress"]
    assert rule["to"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "relance-scheduler"}}}
    ]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_the_console_s_key_at_the_notifier_is_accepted_by_the_notifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console fetches proposals' renderings with RELANCE_CONSOLE_NOTIFIER_API_KEY; the
    notifier lists the same key as `collector:console:<key>` in RELANCE_AUTH_API_KEYS: the dev
    overlay's two Secrets agree, and the notifier accepts the console's key."""
    from services.notifier.settings import NotifierSettings
    from services.runtime.auth import Authenticator
    from services.runtime.clock import SystemClock

    notifier = {v["name"]: v for v in _container("notifier")["env"]}
    assert notifier["RELANCE_AUTH_API_KEYS"]["valueFrom"]["secretKeyRef"] == {
        "name": "relance-notifier-auth",
        "key": "api-keys",
        "optional": True,
    }
    console = {v["name"]: v for v in _container("console")["env"]}
    console_ref = console["RELANCE_CONSOLE_NOTIFIER_API_KEY"]["valueFrom"]["secretKeyRef"]
    dev = yaml.safe_load((OVERLAYS / "dev" / "kustomization.yaml").read_text())
    generated = {
        g["name"]: dict(literal.split("=", 1) for literal in g.get("literals", []))
        for g in dev["secretGenerator"]
    }
    console_key = generated[console_ref["name"]][console_ref["key"]]
    notifier_keys = generated["relance-notifier-auth"]["api-keys"]
    assert f"collector:console:{console_key}" in notifier_keys.split(",")
    monkeypatch.setenv("RELANCE_AUTH_API_KEYS", notifier_keys)
    settings = load(NotifierSettings)
    assert Authenticator("notifier", settings.auth, SystemClock()).configured


def test_alerts_exist_with_runbooks() -> None:
    rules = [
        rule
        for group in _of_kind("PrometheusRule")["relance-alerts"]["spec"]["groups"]
        for rule in group["rules"]
    ]
    names = {rule["alert"] for rule in rules}
    assert names >= REQUIRED_ALERTS
    runbook = RUNBOOK.read_text()
    headings = {line.removeprefix("### ").strip() for line in runbook.splitlines()}
    for rule in rules:
        assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}#{rule['alert'].lower()}"
        assert rule["alert"] in headings, f"no runbook section for {rule['alert']}"


def _metric_names(text: str) -> set[str]:
    names = set(re.findall(r"\brelance_[a-z_]+", text))
    return {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in names}


def test_alerts_and_dashboard_use_exported_metrics() -> None:
    for service in SERVICES:  # importing a service's modules registers its metrics
        importlib.import_module(f"services.{service}.app")
        if importlib.util.find_spec(f"services.{service}.metrics") is not None:
            importlib.import_module(f"services.{service}.metrics")
    exported = {re.sub(r"_total$", "", family.name) for family in REGISTRY.collect()}
    alerts = (BASE / "monitoring" / "alerts.yaml").read_text()
    dashboard_text = (BASE / "monitoring" / "dashboards" / "relance.json").read_text()
    referenced = _metric_names(alerts) | _metric_names(dashboard_text)
    # every name, the HTTP RED series and the ledger's freshness included
    assert referenced >= {
        "relance_http_requests",
        "relance_http_request_duration_seconds",
        "relance_ledger_freshness_seconds",
    }
    assert referenced <= exported, referenced - exported


def test_dashboard_is_a_grafana_dashboard_config_map() -> None:
    dashboard = json.loads((BASE / "monitoring" / "dashboards" / "relance.json").read_text())
    assert dashboard["uid"] == "relance-overview"
    assert all(panel["targets"] for panel in dashboard["panels"] if panel["type"] != "row")
    rows = {panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"}
    assert {"Freshness", "HTTP (rate, errors, duration)", "Restarts and memory"} <= rows
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    assert generator["options"]["labels"] == {"grafana_dashboard": "1"}
    assert generator["files"] == ["relance.json=monitoring/dashboards/relance.json"]


def _stages(dockerfile: str) -> list[list[str]]:
    stages: list[list[str]] = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_image_is_multi_stage_non_root_and_without_build_tools() -> None:
    stages = _stages((ROOT / "Dockerfile").read_text())
    assert len(stages) >= 2
    final = stages[-1]
    final_text = "\n".join(final)
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"0", "root"}
    for tool in ("apt-get install", "gcc", "build-essential", "git ", "COPY . "):
        assert tool not in final_text
    assert 'ENTRYPOINT ["relance"]' in final
    assert any(line.startswith("CMD [") for line in final)
    ignored = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert ignored[0] == "*", "the build context is an allow-list"
    assert ".venv" not in " ".join(ignored)
