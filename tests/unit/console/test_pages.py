"""The pages' pure parts: translations complete, escaping on, cookies and headers strict."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import Request

from services.console.errors import CsrfRefused
from services.console.web import i18n
from services.console.web.i18n import Pages, catalogue
from services.console.web.security import CONTENT_SECURITY_POLICY, Cookies


def test_every_message_has_a_french_translation() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n,jinja2.ext.do"}}
    found = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(i18n.HERE), method_map, options_map=options, keywords={"_": None, "N_": None}
        )
        if isinstance(message, str)
    }
    po = i18n.TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        french = read_po(source, locale="fr")
    assert len(found) > 100
    missing = sorted(m for m in found if m not in french or not french[m].string)
    assert missing == []


def test_the_french_catalogue_translates() -> None:
    assert catalogue("fr").gettext("My day") == "Ma journée"


def test_templates_escape_what_they_are_given() -> None:
    pages = Pages("en")
    html = pages.render(
        "en",
        "search.html",
        csrf_field="csrf_token",
        csrf_token="t" * 40,
        identity=None,
        path="/search",
        q="<img src=x onerror=alert(1)>",
        results=[],
    )
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_browsers_language_is_negotiated() -> None:
    pages = Pages("fr")
    assert pages.language_of(None, "en-GB,en;q=0.9") == "en"
    assert pages.language_of(None, "de-DE") == "fr"
    assert pages.language_of("en", "fr-FR") == "en"
    assert pages.language_of("xx", None) == "fr"


def _request(cookie: str | None) -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "headers": headers})


def test_a_form_token_must_match_its_cookie() -> None:
    cookies = Cookies(secure=True, session_lifetime_s=900)
    token = "a" * 43
    request = _request(f"{cookies.csrf}={token}")
    cookies.check_csrf(request, token)
    for submitted in (None, "", "b" * 43):
        with pytest.raises(CsrfRefused):
            cookies.check_csrf(request, submitted)
    with pytest.raises(CsrfRefused):
        cookies.check_csrf(_request(None), token)


def test_the_policy_allows_no_script() -> None:
    assert "script" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_every_console_exception_is_under_its_base_and_listed() -> None:
    import inspect
    import pkgutil

    import services.console
    from services.console import errors

    found = set()
    for module in pkgutil.walk_packages(services.console.__path__, "services.console."):
        imported = __import__(module.name, fromlist=["_"])
        for _, value in inspect.getmembers(imported, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("services.console"):
                found.add(value)
    assert errors.ConsoleError in found
    for exception in found:
        assert issubclass(exception, errors.ConsoleError), exception
        assert exception.__name__ in (errors.__doc__ or ""), exception
