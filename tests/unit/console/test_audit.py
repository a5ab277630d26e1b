"""An audit log entry never holds a secret; a login typed is cut to its length."""

from __future__ import annotations

import pytest

from services.console.domain.audit import LOGIN_LENGTH, audit_entry


def test_an_entry_keeps_who_from_where_and_its_detail() -> None:
    entry = audit_entry(
        "sign_in", "throttled", login="  camille ", address="10.0.0.7", retry_after_s=60
    )
    assert (entry.action, entry.outcome, entry.login, entry.address) == (
        "sign_in",
        "throttled",
        "camille",
        "10.0.0.7",
    )
    assert entry.subject is None
    assert dict(entry.detail) == {"retry_after_s": 60}
    assert audit_entry("sign_in", "refused", login="x" * 5000).login == "x" * LOGIN_LENGTH


@pytest.mark.parametrize("name", ["password", "csrf_token", "session_cookie", "api_key", "code"])
def test_a_detail_named_like_a_secret_is_a_bug(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        audit_entry("sign_in", "refused", **{name: "hunter2"})
