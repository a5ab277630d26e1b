"""Day two in the manifests: backups and restore, alerts that fire for every service,
the brokers' view of lag, sized retention, and scaling on the work to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.export import RELANCE_SERVICES
from contracts.topics import ALL_TOPICS

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "k8s" / "base"
Manifest = dict[str, Any]


def _base() -> list[Manifest]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [
        document
        for resource in kustomization["resources"]
        for document in yaml.safe_load_all((BASE / resource).read_text())
        if document
    ]


MANIFESTS = _base()


def _one(kind: str, name: str) -> Manifest:
    (found,) = (m for m in MANIFESTS if m["kind"] == kind and m["metadata"]["name"] == name)
    return found


def _rules() -> list[Manifest]:
    groups = _one("PrometheusRule", "relance-alerts")["spec"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_database_is_backed_up_with_its_wal_and_a_nightly_base_backup() -> None:
    backup = _one("Cluster", "relance-db")["spec"]["backup"]
    store = backup["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert re.fullmatch(r"\d+[dwm]", backup["retentionPolicy"])
    assert store["wal"]["compression"]  # WAL archiving is configured
    for key in store["s3Credentials"].values():
        assert key["name"] == "relance-db-backup"
    scheduled = _one("ScheduledBackup", "relance-db-nightly")["spec"]
    assert scheduled["cluster"]["name"] == "relance-db"
    assert scheduled["method"] == "barmanObjectStore"
    assert len(scheduled["schedule"].split()) == 6  # CloudNativePG's cron has seconds


def test_restore_is_point_in_time_into_a_new_cluster_from_the_same_store() -> None:
    (restore,) = yaml.safe_load_all(
        (ROOT / "k8s" / "recovery" / "relance-db-restore.yaml").read_text()
    )
    spec = restore["spec"]
    assert restore["metadata"]["name"] != "relance-db"
    recovery = spec["bootstrap"]["recovery"]
    assert "targetTime" in recovery["recoveryTarget"]
    (source,) = spec["externalClusters"]
    assert source["name"] == recovery["source"]
    original = _one("Cluster", "relance-db")["spec"]["backup"]["barmanObjectStore"]
    assert source["barmanObjectStore"]["destinationPath"] == original["destinationPath"]
    assert source["barmanObjectStore"]["serverName"] == "relance-db"
    # never archives over the original's WAL
    assert spec["backup"]["barmanObjectStore"]["destinationPath"] != original["destinationPath"]


def test_every_service_has_a_service_down_alert() -> None:
    down = [rule for rule in _rules() if rule["alert"] == "RelanceServiceDown"]
    covered = {rule["labels"]["service"] for rule in down}
    assert covered == RELANCE_SERVICES
    for rule in down:
        service = rule["labels"]["service"]
        assert f'absent(up{{job="relance-{service}"}} == 1)' in rule["expr"]
        assert rule["labels"]["severity"] == "critical"


def test_alerts_cover_crash_loops_broker_lag_dead_letters_http_backups_and_disks() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in _rules()}
    assert "CrashLoopBackOff" in exprs["RelanceCrashLooping"]
    assert "kafka_consumergroup_lag" in exprs["RelanceBrokerConsumerLag"]
    assert "kafka_consumergroup_current_offset" in exprs["RelanceConsumerStuck"]
    assert r"\\.dlq" in exprs["RelanceDeadLetterGrowth"]
    assert 'status=~"5.."' in exprs["RelanceHttpErrors"]
    assert "cnpg_collector_last_failed_backup_timestamp" in exprs["RelanceBackupFailed"]
    assert "absent(" in exprs["RelanceBackupLate"]
    assert "cnpg_pg_stat_archiver_last_failed_time" in exprs["RelanceWalArchivingFailing"]
    assert "kubelet_volume_stats_used_bytes" in exprs["RelanceVolumeFilling"]


def test_runbook_urls_are_absolute_from_one_configurable_base() -> None:
    base = _one("ConfigMap", "relance-runbooks")
    assert base["metadata"]["annotations"]["config.kubernetes.io/local-config"] == "true"
    assert base["data"]["base"].startswith("https://")
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    (replacement,) = kustomization["replacements"]
    assert replacement["source"]["name"] == "relance-runbooks"
    (target,) = replacement["targets"]
    assert target["options"] == {"delimiter": "#", "index": 0}
    assert target["fieldPaths"] == ["spec.groups.*.rules.*.annotations.runbook_url"]
    for rule in _rules():
        assert rule["annotations"]["runbook_url"].startswith(base["data"]["base"] + "#")


def test_the_target_label_service_is_dropped_so_relances_own_label_stays() -> None:
    (endpoint,) = _one("ServiceMonitor", "relance-services")["spec"]["endpoints"]
    assert {"action": "labeldrop", "regex": "service"} in endpoint["relabelings"]
    for rule in _rules():
        assert "exported_service" not in rule["expr"]


def test_kafka_exporter_is_enabled_and_scraped() -> None:
    kafka = _one("Kafka", "relance")["spec"]
    assert kafka["kafkaExporter"]["groupRegex"] == "relance-.*"
    monitor = _one("PodMonitor", "relance-kafka-exporter")["spec"]
    assert monitor["selector"]["matchLabels"]["strimzi.io/name"] == "relance-kafka-exporter"
    assert monitor["podMetricsEndpoints"][0]["port"] == "tcp-prometheus"


def test_topics_kept_for_a_time_are_capped_in_size_within_a_third_of_the_disk() -> None:
    topics = [m for m in MANIFESTS if m["kind"] == "KafkaTopic"]
    (pool,) = (m for m in MANIFESTS if m["kind"] == "KafkaNodePool")
    (volume,) = pool["spec"]["storage"]["volumes"]
    disk = int(volume["size"].removesuffix("Gi")) * 2**30
    brokers = pool["spec"]["replicas"]
    capped = 0
    for topic in topics:
        config = topic["spec"]["config"]
        if config["retention.ms"] == "-1":
            assert "retention.bytes" not in config  # kept forever: tiered storage in prod
            continue
        per_partition = int(config["retention.bytes"])
        capped += per_partition * topic["spec"]["partitions"] * topic["spec"]["replicas"]
    assert capped / brokers <= disk / 3
    assert len([t for t in topics if t["spec"]["config"]["retention.ms"] != "-1"]) == len(
        [t for t in ALL_TOPICS if t.extra_config["retention.ms"] != "-1"]
    ) + len(ALL_TOPICS)


def _migrations(service: str) -> str:
    return "\n".join(
        path.read_text()
        for path in sorted((ROOT / "services" / service / "migrations").glob("*.sql"))
    )


@pytest.mark.parametrize(
    ("service", "table"), [("scheduler", "dunning_invoice"), ("notifier", "deliveries")]
)
def test_scheduler_and_notifier_scale_on_their_work_in_postgresql(service: str, table: str) -> None:
    scaled = _one("ScaledObject", f"relance-{service}")["spec"]
    (trigger,) = [t for t in scaled["triggers"] if t["type"] == "postgresql"]
    metadata = trigger["metadata"]
    assert f"FROM {service}.{table} " in metadata["query"]
    assert metadata["userName"] == f"relance_{service}"
    assert int(metadata["targetQueryValue"]) > 0
    assert metadata["sslmode"] in {"require", "verify-ca", "verify-full"}
    # the query's columns exist in the service's migrations
    schema = _migrations(service)
    assert f"CREATE TABLE {table} (" in schema
    for column in re.findall(
        r"\b(next_action_at|next_attempt_at|lease_until|status)\b", metadata["query"]
    ):
        assert re.search(rf"^\s+{column}\s", schema, re.MULTILINE), column
    auth = _one("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    (secret,) = auth["secretTargetRef"]
    assert (secret["parameter"], secret["name"]) == ("password", f"relance-db-{service}")


def test_keda_may_reach_postgresql() -> None:
    ingress = _one("NetworkPolicy", "relance-db-clients")["spec"]["ingress"][0]["from"]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}
    } in ingress
