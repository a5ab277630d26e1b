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
from services.notifier.errors import TemplateConfigurationError
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


# -- editable paragraphs ---------------------------------------------------------------

EDITABLE = {
    "preventive": {"opening", "closing"},
    "level_1": {"opening", "closing"},
    "level_2": {"opening", "closing"},
    "formal_notice": set(),  # its message is the notice itself: none to rewrite
}


def test_the_shipped_sets_mark_the_same_paragraphs_in_every_language(
    catalogue: TemplateCatalogue,
) -> None:
    for name, names in EDITABLE.items():
        assert catalogue.editable(name) == names, name
    for name, language in catalogue.sets:
        for part in ("body.txt", "body.html"):
            text = (DEFAULT_TEMPLATES / name / language / part).read_text()
            for paragraph in EDITABLE[name]:
                assert text.count(f'editable("{paragraph}", ') == 1, (name, language, part)
    formal = (DEFAULT_TEMPLATES / "formal_notice" / "fr" / "body.txt").read_text()
    assert "editable(" not in formal


def _marked_copy(tmp_path: Path, part: str, old: str, new: str, language: str = "fr") -> Path:
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    path = templates / "level_2" / language / part
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    return templates


@pytest.mark.parametrize(
    ("part", "old", "new", "language", "expected"),
    [
        (
            "body.txt",
            'editable("closing", ',
            'editable("opening", ',
            "fr",
            r"level_2/fr/body\.txt marks the editable paragraph opening more than once",
        ),
        (
            "body.html",
            'editable("closing", ',
            'editable("ending", ',
            "fr",
            r"level_2/fr: body\.txt marks closing, opening as editable but body\.html marks "
            r"ending, opening",
        ),
        (
            "body.txt",
            'editable("closing", ',
            'editable("ending", ',
            "de",
            r"level_2/de: body\.txt marks",  # its HTML body still says closing
        ),
        (
            "body.txt",
            'editable("opening", ',
            'editable("open" ~ "ing", ',
            "fr",
            r"level_2/fr/body\.txt line 3: an editable paragraph is named by a quoted string",
        ),
    ],
)
def test_a_mark_named_twice_or_differently_between_bodies_is_refused_at_load(
    tmp_path: Path, part: str, old: str, new: str, language: str, expected: str
) -> None:
    templates = _marked_copy(tmp_path, part, old, new, language)
    with pytest.raises(TemplateConfigurationError, match=expected):
        TemplateCatalogue.load(templates, sample_context(SAMPLE_CREDITOR))


def test_languages_marking_different_paragraphs_are_refused_and_the_command_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = _marked_copy(tmp_path, "body.txt", 'editable("closing", ', 'editable("ending", ')
    html = templates / "level_2" / "fr" / "body.html"
    html.write_text(html.read_text().replace('editable("closing", ', 'editable("ending", '))
    with pytest.raises(TemplateConfigurationError) as refused:
        TemplateCatalogue.load(templates, sample_context(SAMPLE_CREDITOR))
    assert str(refused.value) == (
        "template level_2 marks different editable paragraphs by language "
        "(de: closing, opening; en: closing, opening; es: closing, opening; "
        "fr: ending, opening; it: closing, opening)"
    )
    monkeypatch.setenv("RELANCE_NOTIFIER_TEMPLATES_DIR", str(templates))
    result = CliRunner().invoke(app, ["templates", "check", "--library", str(DEFAULT_LIBRARY)])
    assert result.exit_code == 1
    assert "marks different editable paragraphs by language" in result.output
