"""``relance library validate``: the scheduler's checks and the notifier's together, on the
shipped library (CI runs this) and on libraries each side refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relance.cli import app, library_problems
from services.notifier.composing.rendering import DEFAULT_TEMPLATES
from services.notifier.composing.template_check import DEFAULT_LIBRARY

LANGUAGES = "fr,en,de,es,it"
runner = CliRunner()


def _library(tmp_path: Path) -> Path:
    library = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, library)
    return library


def test_the_shipped_library_is_valid_for_the_scheduler_and_the_notifier() -> None:
    assert library_problems(DEFAULT_LIBRARY, LANGUAGES) == []
    result = runner.invoke(app, ["library", "validate", str(DEFAULT_LIBRARY)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output


def test_a_template_the_scheduler_lists_but_the_notifier_cannot_write_is_refused(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path)
    listed = library / "templates.yaml"
    listed.write_text(listed.read_text() + "  - reminder_unwritten\n")
    negligent = library / "negligent.yaml"
    negligent.write_text(
        negligent.read_text().replace("template: reminder_firm", "template: reminder_unwritten", 1)
    )
    result = runner.invoke(app, ["library", "validate", str(library), "--languages", LANGUAGES])
    assert result.exit_code == 1
    assert "negligent.yaml: scenario " in result.output
    assert "'reminder_unwritten' has no set and is not declared" in result.output
    assert "problem(s); the library is not valid." in result.output


def test_a_scheduler_problem_is_reported_by_the_same_command(tmp_path: Path) -> None:
    library = _library(tmp_path)
    negligent = library / "negligent.yaml"
    negligent.write_text(
        negligent.read_text().replace("template: reminder_firm", "template: reminder_harsh", 1)
    )
    problems = library_problems(library, LANGUAGES)
    # the scheduler: not listed in templates.yaml; the notifier: no set
    assert any("unknown template 'reminder_harsh'" in p for p in problems)
    assert any("'reminder_harsh' has no set" in p for p in problems)


def test_an_sms_step_in_a_language_without_its_partial_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    (templates / "_partials" / "sms.it.txt").unlink()
    monkeypatch.setenv("RELANCE_NOTIFIER_TEMPLATES_DIR", str(templates))
    problems = library_problems(DEFAULT_LIBRARY, LANGUAGES)
    assert problems
    assert all("channel 'sms' has no it version: _partials/sms.it.txt" in p for p in problems)
    assert library_problems(DEFAULT_LIBRARY, "fr,en") == []


def test_reload_refuses_what_the_notifier_cannot_write_before_the_scheduler_sees_it(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path)
    (library / "templates.yaml").write_text(
        (library / "templates.yaml").read_text() + "  - never_written\n"
    )
    result = runner.invoke(
        app, ["library", "reload", str(library), "--by", "test", "--languages", LANGUAGES]
    )
    assert result.exit_code == 1
    assert "templates.yaml: template 'never_written' has no set" in result.output
    assert "the library is refused, the running version stays." in result.output
