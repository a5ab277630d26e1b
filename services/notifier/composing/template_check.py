"""Does every template a scenario library cites exist in every customer language?

The scheduler refuses a step whose template is not listed in the library's
``templates.yaml``; this check makes sure the notifier can write each listed and cited
name, at the step's level, in every language customers are configured with
(``RELANCE_NOTIFIER_CUSTOMER_LANGUAGES``), instead of failing on a customer later, and
that it can write the step's channel: a channel the notifier does not know is refused, and
the SMS and the interactive email's portal block need their partial
(``_partials/sms.<lang>.txt``, ``_partials/portal.<lang>.txt|html``) in the language the
notifier would use (the customer's, else English). It reads the library's YAML only: the
notifier does not import the scheduler; ``relance library validate`` runs both checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from services.notifier.composing.composer import PARTIAL_LANGUAGES
from services.notifier.composing.rendering import TemplateCatalogue

CHANNEL_PARTIALS: dict[str, tuple[str, ...]] = {
    "email": (),
    "interactive_email": ("portal.{lang}.txt", "portal.{lang}.html"),
    "sms": ("sms.{lang}.txt",),
    "phone_call": (),  # a call task: the script is the reminder's text
    "postal_letter": (),
    "registered_letter": (),
    "electronic_registered_letter": (),
}
"""Every channel the notifier writes, and the partials it needs besides the reminder's set."""

TEMPLATES_FILE = "templates.yaml"
ASSIGNMENT_FILE = "assignment.yaml"
DEFAULT_LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: cannot read YAML: {exc}")
        return None


def check_library(
    catalogue: TemplateCatalogue, library: Path, languages: Iterable[str]
) -> list[str]:
    """Every problem, located by file, scenario and step; empty when all can be written."""
    wanted = tuple(languages)
    problems: list[str] = []
    listed = _read(library / TEMPLATES_FILE, problems) or {}
    for name in listed.get("templates", ()) if isinstance(listed, dict) else ():
        if catalogue.set_for(str(name), "") is None:
            problems.append(
                f"{TEMPLATES_FILE}: template {name!r} has no set and is not declared in "
                "the notifier's names.yaml"
            )
    for path in sorted(library.glob("*.yaml")):
        if path.name in (TEMPLATES_FILE, ASSIGNMENT_FILE):
            continue
        scenario = _read(path, problems)
        if not isinstance(scenario, dict):
            continue
        for index, step in enumerate(scenario.get("steps") or (), start=1):
            if not isinstance(step, dict) or "template" not in step:
                continue
            where = f"{path.name}: scenario {scenario.get('id')}: step {index} ({step.get('name')})"
            for problem in catalogue.missing(str(step["template"]), str(step.get("level")), wanted):
                problems.append(f"{where}: {problem}")
            for problem in missing_for_channel(catalogue, str(step.get("channel")), wanted):
                problems.append(f"{where}: {problem}")
    return problems


def missing_for_channel(
    catalogue: TemplateCatalogue, channel: str, languages: Iterable[str]
) -> list[str]:
    """Why the notifier cannot write ``channel`` in each of ``languages``."""
    if channel not in CHANNEL_PARTIALS:
        return [
            f"channel {channel!r} cannot be written by the notifier "
            f"(it writes {', '.join(CHANNEL_PARTIALS)})"
        ]
    problems = []
    for language in dict.fromkeys(languages):
        lang = language if language in PARTIAL_LANGUAGES else "en"
        for pattern in CHANNEL_PARTIALS[channel]:
            path = catalogue.directory / "_partials" / pattern.format(lang=lang)
            if not path.is_file():
                problems.append(
                    f"channel {channel!r} has no {language} version: "
                    f"_partials/{path.name} is missing"
                )
    return problems
