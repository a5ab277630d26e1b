"""The status callback URL that carries the delivery's id to Twilio and back."""

from __future__ import annotations

from services.notifier.channels.sms.adapter import callback_url_for

DELIVERY = "0b7e9f4c-2d1a-5e3b-8c6d-9a0f1e2d3c4b"


def test_the_delivery_id_is_added_to_the_query() -> None:
    url = callback_url_for("https://notifier.example/sms/status", DELIVERY)
    assert url == f"https://notifier.example/sms/status?delivery={DELIVERY}"


def test_an_existing_query_is_kept_and_a_stale_delivery_replaced() -> None:
    url = callback_url_for("https://notifier.example/sms/status?region=eu&delivery=old", DELIVERY)
    assert url == f"https://notifier.example/sms/status?region=eu&delivery={DELIVERY}"
