"""The console's way to the notifier's previews, as the demo and Kubernetes wire it: the
console's settings name the notifier and carry a machine key of the run that the notifier's
own settings accept as a collector's; on Kubernetes both come from Secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.console.settings import ConsoleSettings
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SimulatedClock
from simulation import run
from simulation.demo import console_environment
from tests.unit.test_k8s_manifests import _config, _container

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
