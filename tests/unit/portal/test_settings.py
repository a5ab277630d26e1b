"""The portal's settings as a Secret or a ConfigMap writes them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.portal.documents import DocumentStoreSettings
from services.portal.settings import StripeSettings


def test_webhook_secrets_are_read_comma_separated_or_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELANCE_STRIPE_SECRET_KEY", "sk_test_0123456789")
    monkeypatch.setenv("RELANCE_STRIPE_WEBHOOK_SECRETS", "whsec_old, whsec_new")
    secrets = [s.get_secret_value() for s in StripeSettings().webhook_secrets]
    assert secrets == ["whsec_old", "whsec_new"]
    monkeypatch.setenv("RELANCE_STRIPE_WEBHOOK_SECRETS", '["whsec_a", "whsec_b"]')
    assert [s.get_secret_value() for s in StripeSettings().webhook_secrets] == [
        "whsec_a",
        "whsec_b",
    ]
    monkeypatch.setenv("RELANCE_STRIPE_WEBHOOK_SECRETS", "")
    with pytest.raises(ValidationError, match="no payment could be confirmed"):
        StripeSettings()


def test_a_document_store_without_its_credentials_does_not_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert DocumentStoreSettings().kind == "none"
    monkeypatch.setenv("RELANCE_DOCUMENTS_KIND", "http")
    monkeypatch.setenv("RELANCE_DOCUMENTS_BASE_URL", "https://documents.erp.example")
    with pytest.raises(ValidationError, match="RELANCE_DOCUMENTS_TOKEN"):
        DocumentStoreSettings()
    monkeypatch.setenv("RELANCE_DOCUMENTS_KIND", "s3")
    monkeypatch.setenv("RELANCE_DOCUMENTS_S3_BUCKET", "invoices")
    with pytest.raises(ValidationError, match="S3_ACCESS_KEY_ID"):
        DocumentStoreSettings()
