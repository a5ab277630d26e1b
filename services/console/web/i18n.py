"""French and English: Babel catalogues, one Jinja2 environment per language.

The catalogues are the ``.po`` files under ``services/console/translations`` (extracted
with ``pybabel extract -F services/console/babel.cfg``), compiled in memory at start. Each
language has its own environment with autoescaping on for every template and the
``i18n`` extension's new-style gettext, whose placeholders are escaped too.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.console.domain.timeline import actor_name
from services.console.web import labels

LANGUAGES = ("fr", "en")
HERE = Path(__file__).parent.parent
TEMPLATES = HERE / "templates"
TRANSLATIONS = HERE / "translations"
MONEY_CACHE = 50_000  # formatted amounts (and days) kept per language, about 5 MB each


def catalogue(language: str) -> NullTranslations:
    """The compiled catalogue of ``language``; English is the templates' own text."""
    po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        parsed = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return Translations(compiled)


def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = catalogue(language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    locale = Locale.parse(language)

    # Formatting an amount costs Babel about 0.3 ms, a tenth of My day's time for its 200
    # items: the same amounts come back on every page, so each one is formatted once.
    @functools.lru_cache(maxsize=MONEY_CACHE)
    def formatted(amount: Decimal, currency: str) -> str:
        return str(format_currency(amount, currency, locale=locale))

    def money(amount: Decimal | str | None, currency: str) -> str:
        if amount is None or not currency:
            return ""
        return formatted(Decimal(amount), currency)

    @functools.lru_cache(maxsize=MONEY_CACHE)
    def formatted_day(value: date) -> str:
        return str(format_date(value, "medium", locale=locale))

    def day(value: date | datetime | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            return str(format_datetime(value, "medium", locale=locale))
        return formatted_day(value)

    def number(value: Decimal | int) -> str:
        return str(format_decimal(value, locale=locale))

    def label(value: str | None) -> str:
        """The translated label of a code (a status, a channel, a timeline kind)."""
        if value is None:
            return ""
        return translations.gettext(labels.LABELS.get(value, value))

    env.filters.update(money=money, day=day, number=number, label=label, person=actor_name)
    env.globals.update(language=language, languages=LANGUAGES)
    return env


class Pages:
    """The templates in every language, built once."""

    def __init__(self, default_language: str) -> None:
        self.default_language = default_language
        self.environments: Mapping[str, Environment] = {
            language: environment(language) for language in LANGUAGES
        }

    def language_of(self, chosen: str | None, accept_language: str | None) -> str:
        """The language chosen (cookie), else the browser's preference, else the default."""
        if chosen in LANGUAGES:
            return str(chosen)
        preferred = [
            part.split(";")[0].strip().replace("-", "_")
            for part in (accept_language or "").split(",")
            if part.strip()
        ]
        found = negotiate_locale(preferred, list(LANGUAGES), sep="_")
        return found or self.default_language

    def render(self, language: str, template: str, **values: Any) -> str:
        return self.environments[language].get_template(template).render(**values)
