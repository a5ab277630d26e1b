"""Every template a scenario cites exists in every customer language, or the library is
refused before it is deployed (``relance notifier templates check``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.notifier.composing.composer import SAMPLE_CREDITOR, sample_context
from services.notifier.composing.rendering import DEFAULT_TEMPLATES, TemplateCatalogue
from services.notifier.composing.template_check import DEFAULT_LIBRARY, check_library
from services.notifier.templates_cli import app

LANGUAGES = ("fr", "en", "de", "es", "it")


@pytest.fixture(scope="module")
def catalogue() -> TemplateCatalogue:
    return TemplateCatalogue.load(DEFAULT_TEMPLATES, sample_context(SAMPLE_CREDITOR))


def test_the_default_library_can_be_written_in_every_language(
    catalogue: TemplateCatalogue,
) -> None:
    assert check_library(catalogue, DEFAULT_LIBRARY, LANGUAGES) == []


def _library(tmp_path: Path) -> Path:
    library = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_LIBRARY, library)
    return library


def test_a_step_citing_an_undeclared_template_is_refused_with_its_place(
    tmp_path: Path, catalogue: TemplateCatalogue
) -> None:
    library = _library(tmp_path)
    negligent = library / "negligent.yaml"
    text = negligent.read_text()
    assert "template: reminder_firm" in text
    negligent.write_text(text.replace("template: reminder_firm", "template: reminder_harsh", 1))
    problems = check_library(catalogue, library, LANGUAGES)
    assert len(problems) == 1
    assert problems[0].startswith("negligent.yaml: scenario ")
    assert "'reminder_harsh' has no set and is not declared" in problems[0]


def test_a_set_missing_in_one_language_is_refused(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    shutil.rmtree(templates / "formal_notice" / "it")
    catalogue = TemplateCatalogue.load(templates, sample_context(SAMPLE_CREDITOR))
    problems = check_library(catalogue, DEFAULT_LIBRARY, LANGUAGES)
    assert problems
    assert all("(set formal_notice) has no it version" in p for p in problems)
    assert check_library(catalogue, DEFAULT_LIBRARY, ("fr", "en")) == []


def test_the_command_exits_1_naming_each_problem(tmp_path: Path) -> None:
    library = _library(tmp_path)
    (library / "templates.yaml").write_text("templates:\n  - preventive_courtesy\n  - nope\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["templates", "check", "--library", str(library)])
    assert refused.exit_code == 1
    assert "templates.yaml: template 'nope' has no set" in refused.output
    accepted = runner.invoke(app, ["templates", "check", "--library", str(DEFAULT_LIBRARY)])
    assert accepted.exit_code == 0, accepted.output
    assert "fr, en, de, es, it" in accepted.output
