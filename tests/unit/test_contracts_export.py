"""The generated JSON Schemas and AsyncAPI document are committed, and must match the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import export
from contracts.topics import ALL_TOPICS

RENDERED = export.render_all()


@pytest.mark.parametrize("relative", sorted(RENDERED))
def test_the_committed_copy_is_up_to_date(relative: str) -> None:
    committed = export.ROOT / relative
    assert committed.is_file(), f"{relative} is missing: run python -m contracts export"
    assert committed.read_text(encoding="utf-8") == RENDERED[relative], (
        f"{relative} is stale: run python -m contracts export"
    )


def test_no_schema_is_left_from_a_topic_that_no_longer_exists() -> None:
    assert export.stale_files() == []


def test_every_topic_has_a_schema_and_a_channel() -> None:
    asyncapi = json.loads(RENDERED[export.ASYNCAPI_PATH])
    assert asyncapi["asyncapi"] == "3.0.0"
    assert set(asyncapi["channels"]) == {t.name for t in ALL_TOPICS}
    for topic in ALL_TOPICS:
        schema = json.loads(RENDERED[export.schema_path(topic)])
        assert schema["title"] == topic.name
        assert schema["discriminator"]["propertyName"] == "event_type"


def test_rendering_is_deterministic() -> None:
    assert export.render_all() == RENDERED


def test_check_names_stale_files_and_export_repairs_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export.main(["check", "--root", str(tmp_path)]) == 1
    assert "stale: docs/asyncapi.json" in capsys.readouterr().err

    assert export.main(["export", "--root", str(tmp_path)]) == 0
    assert export.main(["check", "--root", str(tmp_path)]) == 0

    (tmp_path / "contracts/schemas/ledger.events.v0.json").write_text("{}\n")
    (tmp_path / export.ASYNCAPI_PATH).write_text("{}\n")
    assert export.stale_files(tmp_path) == [
        export.ASYNCAPI_PATH,
        "contracts/schemas/ledger.events.v0.json",
    ]
    assert export.main(["export", "--root", str(tmp_path)]) == 0
    assert export.stale_files(tmp_path) == []


def test_the_contracts_page_lists_every_topic_with_its_events_and_partitions() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in (export.ROOT / "docs/contracts.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    assert set(rows) == {t.name for t in ALL_TOPICS}
    for topic in ALL_TOPICS:
        cells = [cell.strip() for cell in rows[topic.name].split("|")]
        events = {e.strip(" `") for e in cells[4].split(",")}
        assert events == set(topic.adapter.json_schema()["discriminator"]["mapping"])
        assert cells[5] == str(topic.partitions)
