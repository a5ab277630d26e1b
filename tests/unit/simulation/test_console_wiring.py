"""The console's way to the notifier's previews, as the demo and Kubernetes wire it: the
console's settings name the notifier and carry a machine key of the run that the notifier's
own settings accept as a collector's; on Kubernetes both come from Secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from services.console.settings import ConsoleSettings
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from simulation import run
from simulation.demo import console_environment
from tests.unit.test_k8s_manifests import OVERLAYS, _config, _container

NOTIFIER = "http://127.0.0.1:41001"


async def test_the_demo_console_reads_previews_with_a_key_the_notifier_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "console-users.yaml"
    users.write_text("users: {}\n", encoding="utf-8")
    for name, value in console_environment(users, NOTIFIER).items():
        monkeypatch.setenv(name, value)
    console = ConsoleSettings()
    assert console.notifier_url == NOTIFIER
    key = console.notifier_api_key.get_secret_value()
    assert len(key) >= 24
    assert not console.secure_cookies  # plain HTTP on the loopback

    # the notifier of the same run: its RELANCE_AUTH_API_KEYS, as run.py gives every service
    notifier = AuthSettings(api_keys=run.machine_keys())
    clock = SimulatedClock(datetime(2026, 6, 15, tzinfo=UTC))
    identity = await Authenticator("notifier", notifier, clock).identify(key)
    assert identity.subject == "api-key:console"
    assert identity.has("collector")
    assert not identity.has("credit_manager")
    # the simulated collector keeps its own key
    collector = await Authenticator("notifier", notifier, clock).identify(run.COLLECTOR_KEY)
    assert collector.subject == "api-key:simulated-collector"


def test_the_key_is_the_runs_own_and_not_in_the_printed_settings(tmp_path: Path) -> None:
    environment = console_environment(tmp_path / "users.yaml", NOTIFIER)
    assert environment["RELANCE_CONSOLE_NOTIFIER_API_KEY"] == run.CONSOLE_KEY
    assert run.CONSOLE_KEY not in {run.COLLECTOR_KEY, run.LINK_KEY}
    # the settings never show it
    settings = ConsoleSettings(notifier_api_key=run.CONSOLE_KEY)
    assert run.CONSOLE_KEY not in repr(settings)
    assert run.CONSOLE_KEY not in str(settings.model_dump())


def test_kubernetes_gives_both_sides_the_key_from_secrets() -> None:
    assert _config("console")["RELANCE_CONSOLE_NOTIFIER_URL"] == "http://relance-notifier:8080"
    console = {v["name"]: v for v in _container("console")["env"]}
    notifier = {v["name"]: v for v in _container("notifier")["env"]}
    key = console["RELANCE_CONSOLE_NOTIFIER_API_KEY"]["valueFrom"]["secretKeyRef"]
    accepted = notifier["RELANCE_AUTH_API_KEYS"]["valueFrom"]["secretKeyRef"]
    assert (key["name"], key["key"]) == ("relance-console-notifier", "api-key")
    assert (accepted["name"], accepted["key"]) == ("relance-notifier-auth", "api-keys")


async def test_the_demo_console_asks_the_scheduler_with_a_credit_managers_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Operations page's dry runs and library versions: the console names the run's
    scheduler and carries the run's other key, which the scheduler identifies as the console
    with a credit manager's role (and the notifier's preview key stays a collector's)."""
    users = tmp_path / "console-users.yaml"
    users.write_text("users: {}\n", encoding="utf-8")
    scheduler_url = "http://127.0.0.1:41002"
    for name, value in console_environment(users, NOTIFIER, scheduler_url).items():
        monkeypatch.setenv(name, value)
    console = ConsoleSettings()
    assert console.scheduler_url == scheduler_url
    key = console.scheduler_api_key.get_secret_value()
    assert key == run.CONSOLE_OPERATIONS_KEY
    assert key not in {run.CONSOLE_KEY, run.COLLECTOR_KEY, run.LINK_KEY}
    assert key not in repr(console)

    scheduler = AuthSettings(api_keys=run.machine_keys())
    clock = SimulatedClock(datetime(2026, 6, 15, tzinfo=UTC))
    identity = await Authenticator("scheduler", scheduler, clock).identify(key)
    assert identity.subject == "api-key:console-operations"
    assert identity.has("credit_manager")
    previews = await Authenticator("scheduler", scheduler, clock).identify(run.CONSOLE_KEY)
    assert not previews.has("credit_manager")


def test_kubernetes_gives_the_console_a_key_the_scheduler_accepts() -> None:
    assert _config("console")["RELANCE_CONSOLE_SCHEDULER_URL"] == "http://relance-scheduler:8080"
    console = {v["name"]: v for v in _container("console")["env"]}
    ref = console["RELANCE_CONSOLE_SCHEDULER_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "relance-console-scheduler", "key": "api-key", "optional": True}
    dev = yaml.safe_load((OVERLAYS / "dev" / "kustomization.yaml").read_text())
    generated = {
        g["name"]: dict(literal.split("=", 1) for literal in g.get("literals", []))
        for g in dev["secretGenerator"]
    }
    key = generated["relance-console-scheduler"]["api-key"]
    accepted = generated["relance-scheduler-auth"]["api-keys"].split(",")
    assert f"credit_manager:console-operations:{key}" in accepted


def test_the_console_knows_each_company_s_country_from_the_companies_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interest on the customer page follows the invoicing company's law: the demo and
    Kubernetes give the console the companies file the notifier reads."""
    users = tmp_path / "console-users.yaml"
    users.write_text("users: {}\n", encoding="utf-8")
    for name, value in console_environment(users, NOTIFIER).items():
        monkeypatch.setenv(name, value)
    countries = ConsoleSettings().creditor_countries
    assert countries["FR01"] == "FR"
    assert countries["DE01"] == "DE"
    assert countries["GB01"] == "GB"
    # an explicit entry wins over the file
    monkeypatch.setenv("RELANCE_CONSOLE_CREDITOR_COUNTRIES", '{"FR01": "BE"}')
    assert ConsoleSettings().creditor_countries["FR01"] == "BE"
    # a file without companies is refused at start
    broken = tmp_path / "companies.yaml"
    broken.write_text("nothing: here\n", encoding="utf-8")
    monkeypatch.setenv("RELANCE_CONSOLE_COMPANIES_FILE", str(broken))
    with pytest.raises(ValueError, match="no `companies` mapping"):
        ConsoleSettings()

    path = _config("console")["RELANCE_CONSOLE_COMPANIES_FILE"]
    container = _container("console")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert path.startswith(mounts["companies"] + "/")
