"""The validation command and the documentation of the default library."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from services.scheduler.cli import app
from services.scheduler.domain.library import DEFAULT_LIBRARY, load_library

DOCS = DEFAULT_LIBRARY.parent / "docs" / "scenarios.md"


def test_validate_accepts_the_default_library() -> None:
    result = CliRunner().invoke(app, ["validate", str(DEFAULT_LIBRARY)])
    assert result.exit_code == 0, result.output
    assert "8 scenarios valid" in result.output


def test_validate_lists_located_problems_and_fails(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(DEFAULT_LIBRARY, folder)
    raw = yaml.safe_load((folder / "bad_payer.yaml").read_text())
    raw["steps"][3]["level"] = "preventive"
    del raw["exit_action"]
    (folder / "bad_payer.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "bad_payer.yaml: scenario 'bad_payer': the scenario has no end" in result.output
    assert "step 4 ('registered'): firmness goes down" in result.output
    assert "2 problem(s)" in result.output


def test_every_default_scenario_is_documented() -> None:
    text = DOCS.read_text()
    for scenario_id in load_library().scenarios:
        assert f"### `{scenario_id}`" in text
