"""AR24's request signature, its encrypted replies, and the sender's one-time passwords.

AR24 authenticates each call with the account's ``token``, a ``date`` (``YYYY-MM-DD
HH:MM:SS``, Paris time, valid for a few minutes) and a ``signature`` header: the date
encrypted with AES-256-CBC under the account's private key. Successful replies come back
encrypted under a key derived from the same date; errors come back as clear JSON. Key
material, as AR24 documents it (PHP's ``openssl_encrypt``, which keeps the first 32 bytes of
a longer key):

- signature key: the first 32 characters of ``sha256_hex(private_key)``;
- reply key: the first 32 characters of ``sha256_hex(date + private_key)``;
- IV: the first 16 characters of ``sha256_hex(sha256_hex(private_key))``;
- PKCS#7 padding, base64 text.

An eIDAS-qualified letter also needs a one-time password of the sender [OTP]: a TOTP
(RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) from the key AR24 posted to the sender.

The primitives come from the ``cryptography`` library: AES-256-CBC, PKCS#7 padding and
TOTP. This module only derives AR24's keys and IV and encodes the texts; tests check it
against AR24's published example and RFC 6238's vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from services.notifier.errors import CipherError as CipherError  # raised here

BLOCK_BITS = algorithms.AES.block_size  # 128


def _cipher(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    if len(key) != 32:
        raise ValueError("AES-256 needs a 32-byte key")
    return Cipher(algorithms.AES256(key), modes.CBC(iv))


def aes_cbc_encrypt(plain: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding."""
    padder = PKCS7(BLOCK_BITS).padder()
    data = padder.update(plain) + padder.finalize()
    encryptor = _cipher(key, iv).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cbc_decrypt(cipher: bytes, key: bytes, iv: bytes) -> bytes:
    if not cipher or len(cipher) % 16:
        raise CipherError("not a whole number of AES blocks")
    decryptor = _cipher(key, iv).decryptor()
    data = decryptor.update(cipher) + decryptor.finalize()
    unpadder = PKCS7(BLOCK_BITS).unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError as exc:
        raise CipherError("bad padding: not encrypted with this key") from exc


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iv(private_key: str) -> bytes:
    return _sha256_hex(_sha256_hex(private_key))[:16].encode()


def signature(date: str, private_key: str) -> str:
    """The ``signature`` header of a call made at ``date``."""
    key = _sha256_hex(private_key)[:32].encode()
    return base64.b64encode(aes_cbc_encrypt(date.encode(), key, _iv(private_key))).decode()


def date_of_signature(value: str, private_key: str) -> str:
    """The date a signature was made for (what AR24 checks against the ``date`` field)."""
    key = _sha256_hex(private_key)[:32].encode()
    return _decrypt_text(value, key, _iv(private_key))


def encrypt_reply(text: str, date: str, private_key: str) -> str:
    """A reply as AR24 encrypts it for a call made at ``date``."""
    key = _sha256_hex(date + private_key)[:32].encode()
    return base64.b64encode(aes_cbc_encrypt(text.encode(), key, _iv(private_key))).decode()


def decrypt_reply(body: str, date: str, private_key: str) -> str:
    """The clear text of a successful reply to a call made at ``date``."""
    key = _sha256_hex(date + private_key)[:32].encode()
    return _decrypt_text(body, key, _iv(private_key))


def _decrypt_text(value: str, key: bytes, iv: bytes) -> str:
    try:
        cipher = base64.b64decode(value.strip(), validate=True)
        return aes_cbc_decrypt(cipher, key, iv).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise CipherError(f"not an AR24 encrypted text: {exc}") from exc


def totp(secret: str, unix_time: float, *, step_s: int = 30, digits: int = 6) -> str:
    """RFC 6238 one-time password of a base32 ``secret`` at ``unix_time`` (6 to 8 digits).

    The secret may be lower case, spaced or unpadded. Keys shorter than RFC 4226's
    recommended 128 bits are accepted: the common 16-character base32 keys are 80 bits.
    """
    cleaned = secret.replace(" ", "").upper()
    key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    generator = TOTP(key, digits, hashes.SHA1(), step_s, enforce_key_length=False)  # noqa: S303
    # the step is floor(time / step_s); a whole number of seconds keeps the division exact
    return generator.generate(int(unix_time)).decode()
