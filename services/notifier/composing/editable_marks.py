"""The paragraphs a template set marks as editable, read from the templates' source.

A set's bodies mark the paragraphs a collector may rewrite in a proposal with
``{{ editable("opening", "the template's own text") }}``. What a proposal's edit may name
is what the set marks, so the marks are checked when the catalogue is loaded, with the file
at fault:

- a name is a quoted string (the edit cites it; a computed name cannot be checked);
- a part (``body.txt``, ``body.html``, with the partials it extends or includes) marks a name
  once: two paragraphs of one name would both take the collector's text;
- the text and HTML bodies mark the same names (the collector edits one message);
- every language of a template name marks the same names, so that an edit does not depend
  on which language the customer reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import jinja2
from jinja2 import meta, nodes

from services.notifier.errors import TemplateConfigurationError

MARK = "editable"
BODIES = ("body.txt", "body.html")


# A template's own marks and the templates it extends or includes, by path: a catalogue's
# sets share their layouts and partials, parsed once per catalogue instead of once per set.
Parsed = dict[str, tuple[list[str], list[str]]]


def _parsed(
    environment: jinja2.Environment, path: str, parsed: Parsed
) -> tuple[list[str], list[str]]:
    """The names ``path`` itself marks, and the templates it extends or includes."""
    if path in parsed:
        return parsed[path]
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, path)
    tree = environment.parse(source, name=path)
    names: list[str] = []
    for call in tree.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == MARK):
            continue
        first = call.args[0] if call.args else None
        if not (isinstance(first, nodes.Const) and isinstance(first.value, str) and first.value):
            raise TemplateConfigurationError(
                f"template {path} line {call.lineno}: an editable paragraph is named by a "
                'quoted string, as in editable("opening", "...")'
            )
        names.append(first.value)
    referenced = [r for r in meta.find_referenced_templates(tree) if r is not None]
    parsed[path] = (names, referenced)
    return parsed[path]


def _marks_in(
    environment: jinja2.Environment, path: str, seen: set[str], parsed: Parsed
) -> list[str]:
    """The names marked in the template at ``path`` and in those it extends or includes."""
    if path in seen:
        return []
    seen.add(path)
    own, referenced = _parsed(environment, path, parsed)
    names = list(own)
    for template in referenced:
        names.extend(_marks_in(environment, template, seen, parsed))
    return names


def marked(
    environment: jinja2.Environment, name: str, language: str, parsed: Parsed | None = None
) -> frozenset[str]:
    """The names the set ``name``/``language`` marks; refused as described in the module.
    ``parsed``, shared by the calls of one catalogue's load, keeps each template parsed once."""
    parsed = {} if parsed is None else parsed
    by_part: dict[str, frozenset[str]] = {}
    for part in BODIES:
        path = f"{name}/{language}/{part}"
        counted = Counter(_marks_in(environment, path, set(), parsed))
        twice = sorted(n for n, count in counted.items() if count > 1)
        if twice:
            raise TemplateConfigurationError(
                f"template {path} marks the editable paragraph {', '.join(twice)} more than once"
            )
        by_part[part] = frozenset(counted)
    text, html = (by_part[part] for part in BODIES)
    if text != html:
        raise TemplateConfigurationError(
            f"template {name}/{language}: body.txt marks {_listed(text)} as editable but "
            f"body.html marks {_listed(html)}"
        )
    return text


def consistent(offered: Mapping[tuple[str, str], frozenset[str]]) -> None:
    """Refuse a template name whose languages mark different paragraphs."""
    by_name: dict[str, dict[str, frozenset[str]]] = {}
    for (name, language), names in offered.items():
        by_name.setdefault(name, {})[language] = names
    for name, languages in sorted(by_name.items()):
        if len(set(languages.values())) > 1:
            found = "; ".join(f"{lang}: {_listed(n)}" for lang, n in sorted(languages.items()))
            raise TemplateConfigurationError(
                f"template {name} marks different editable paragraphs by language ({found})"
            )


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"
