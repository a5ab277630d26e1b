"""A dispute owner's page and forms are worded in the portal's five languages: every word
the English page has, with the same placeholders, and none left in English."""

from __future__ import annotations

import string

import pytest

from services.portal.i18n import LANGUAGES
from services.portal.owner_words import OWNER_WORDS
from services.portal.pages import Words


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [x for x in LANGUAGES if x != "en"])
def test_every_owner_word_is_translated_with_its_placeholders(language: str) -> None:
    english = OWNER_WORDS["en"]
    words = OWNER_WORDS[language]
    assert set(words) == set(english)
    for key, text in english.items():
        assert _placeholders(words[key]) == _placeholders(text), key
    untranslated = {k for k, text in english.items() if words[k] == text}
    assert untranslated <= {"owner_correction_kind"}  # "Correction" in French too


@pytest.mark.parametrize(
    ("language", "heading", "amount"),
    [
        ("de", "Reklamation abschließen", "Ihr Betrag in EUR, falls bekannt"),
        ("es", "Resolver la reclamación", "Su importe en EUR, si se conoce"),
        ("it", "Risolvere la contestazione", "Il suo importo in EUR, se noto"),
    ],
)
def test_the_owner_forms_speak_the_readers_language(
    language: str, heading: str, amount: str
) -> None:
    words = Words(language)
    assert words("owner_resolve_heading") == heading
    assert words("owner_correction_amount", currency="EUR") == amount
