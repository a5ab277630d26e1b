"""Our use of the cryptography library for AR24 against published vectors, and the pure rules
of the LRE adapter."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.channels.ar24 import crypto as ar24_crypto
from services.notifier.channels.ar24.client import addressee_names, email_contact, outcome_of
from services.notifier.composing.composer import CustomerView
from services.notifier.errors import DeliveryError

# AR24's own example (developers.ar24.fr, "Sign your requests"): a date, a private key, the
# signature header expected, and an encrypted reply.
AR24_DATE = "2021-05-26 14:00:00"
AR24_KEY = "7X9gx9E3Qx4EiUdB63nc"


def test_signature_and_reply_match_ar24s_published_example() -> None:
    assert (
        ar24_crypto.signature(AR24_DATE, AR24_KEY) == "bDop0cbjKpkySlpvnNGvBMg7PuYFFgPPqTTS2RAHoY0="
    )
    clear = ar24_crypto.decrypt_reply(
        "WwBOU6s8DaMWmYdctBJwfuoujFgVygBUjhsbdf8eWqQ=", AR24_DATE, AR24_KEY
    )
    assert "SUCCESS" in clear


def test_a_reply_for_another_date_does_not_decrypt() -> None:
    reply = ar24_crypto.encrypt_reply('{"status": "SUCCESS"}', AR24_DATE, AR24_KEY)
    with pytest.raises(ar24_crypto.CipherError):
        ar24_crypto.decrypt_reply(reply, "2021-05-26 14:00:01", AR24_KEY)
    with pytest.raises(ar24_crypto.CipherError):
        ar24_crypto.decrypt_reply("not base64 at all!", AR24_DATE, AR24_KEY)


@given(st.text(max_size=300), st.text(min_size=1, max_size=40))
def test_replies_round_trip(text: str, private_key: str) -> None:
    reply = ar24_crypto.encrypt_reply(text, AR24_DATE, private_key)
    assert ar24_crypto.decrypt_reply(reply, AR24_DATE, private_key) == text
    assert (
        ar24_crypto.date_of_signature(ar24_crypto.signature(AR24_DATE, private_key), private_key)
        == AR24_DATE
    )


def test_totp_matches_rfc_6238() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 appendix B, SHA-1: 94287082 and 07081804 on 8 digits; we use the last 6.
    assert ar24_crypto.totp(secret, 59) == "287082"
    assert ar24_crypto.totp(secret, 1111111109) == "081804"
    assert ar24_crypto.totp(secret, 1111111109, digits=8) == "07081804"
    assert ar24_crypto.totp(secret.lower().rstrip("="), 59) == "287082"


def test_totp_accepts_the_common_80_bit_keys() -> None:
    # 16 base32 characters, 10 bytes: shorter than the library's default minimum of 128 bits
    assert ar24_crypto.totp("JBSWY3DPEHPK3PXP", 59) == "996554"
    assert ar24_crypto.totp("jbsw y3dp ehpk 3pxp", 59) == "996554"


@pytest.mark.parametrize(
    ("mail", "expected"),
    [
        ({"status": "waiting"}, ("waiting", None)),
        ({"status": "sent", "proof_ev_url": "https://x/ev"}, ("sent", None)),
        ({"status": "AR", "proof_ar_url": "https://x/ar"}, ("AR", "delivered")),
        ({"status": "refused"}, ("refused", "delivered")),
        ({"status": "negligence", "negligence_date": "2026-03-20"}, ("negligence", "delivered")),
        ({"status": "bounced", "proof_bc_url": "https://x/bc"}, ("bounced", "bounced")),
        # a final state named otherwise is still read from the proof it comes with
        ({"status": "closed", "proof_ng_url": "https://x/ng"}, ("negligence", "delivered")),
        ({}, ("unknown", None)),
    ],
)
def test_final_states_are_read_from_the_status_or_their_proof(
    mail: dict[str, str], expected: tuple[str, str | None]
) -> None:
    assert outcome_of(mail) == expected


def test_the_addressee_is_the_contact_in_the_role_else_billing() -> None:
    customer = CustomerView.of_row(
        "ACME SAS",
        "fr",
        '[{"role": "buyer", "phone": "+33600000000"},'
        ' {"role": "billing", "name": "Claire Martin", "email": "compta@acme.example"}]',
        (),
    )
    assert email_contact(customer, "buyer")["email"] == "compta@acme.example"
    without = CustomerView.of_row("ACME SAS", "fr", '[{"role": "billing", "phone": "+33611"}]', ())
    with pytest.raises(DeliveryError, match="no email contact") as error:
        email_contact(without, "billing")
    assert error.value.retryable is False
    assert addressee_names({"name": "Claire Anne Martin"}, "ACME") == ("Claire", "Anne Martin")
    assert addressee_names({"name": None}, "ACME SAS") == ("", "ACME SAS")
