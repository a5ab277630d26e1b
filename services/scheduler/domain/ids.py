"""Identifiers for the tick's hot path, made without ``uuid.UUID.__init__``.

A tick makes a name-based id per reminder and a random one per state change: building them
through ``uuid.uuid5`` and ``uuid.uuid4`` (the constructor's checks and version arithmetic,
a system call per random id) was about a tenth of a tick's Python time. These make the same
``uuid.UUID`` values: :func:`name_uuid` is ``uuid.uuid5`` bit for bit (unit tests compare
them), :func:`random_uuid` a version-4 id from the operating system's random bytes, read
4,096 ids at a time (and read anew in a forked process, which must not repeat its parent's).
:func:`random_id_text` is such an id's text (``str`` of the ``uuid.UUID``), written straight
from the bytes' hexadecimal digits: a state change's event id is only ever written as text
(into its JSON, and into the outbox's ``COPY``, which reads either form); likewise
:func:`name_id_text`, a name-based id's text: a reminder's id is written as text by the tick
(its event's JSON, the outbox's ``COPY``, the reminders kept), the ``uuid.UUID`` made only
where a proposal or a command needs one.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Final

_VERSION_BITS: Final = (0xC000 << 48) | (0xF000 << 64)  # the variant's and version's bits
_V4: Final = (0x8000 << 48) | (4 << 76)  # RFC 4122 variant, version 4
_V5: Final = (0x8000 << 48) | (5 << 76)
_BATCH: Final = 4096
_SAFETY = uuid.SafeUUID.unknown


def uuid_of(value: int) -> uuid.UUID:
    """The ``uuid.UUID`` of a 128-bit ``value``, as ``uuid.UUID(int=value)`` makes it."""
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", _SAFETY)
    return made


def name_uuid(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """``uuid.uuid5(namespace, name)``."""
    digest = hashlib.sha1(_bytes_of(namespace) + name.encode(), usedforsecurity=False).digest()
    return uuid_of((int.from_bytes(digest[:16]) & ~_VERSION_BITS) | _V5)


def name_id_text(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))``, written straight from the digest's hexadecimal
    digits (the version's digit 5, the variant's 8 to b) without making the ``uuid.UUID``."""
    digits = hashlib.sha1(_bytes_of(namespace) + name.encode(), usedforsecurity=False).hexdigest()
    return (
        f"{digits[:8]}-{digits[8:12]}-5{digits[13:16]}-"
        f"{_VARIANT_DIGIT[digits[16]]}{digits[17:20]}-{digits[20:32]}"
    )


_namespaces: dict[uuid.UUID, bytes] = {}


def _bytes_of(namespace: uuid.UUID) -> bytes:
    """``namespace.bytes`` (a property that formats the id's integer at every call),
    remembered for the few namespaces there are."""
    known = _namespaces.get(namespace)
    if known is None:
        known = _namespaces[namespace] = namespace.bytes
    return known


class _RandomBytes:
    def __init__(self) -> None:
        self.buffer = b""
        self.digits = ""  # the buffer's hexadecimal digits
        self.at = 0  # the next id's index in the buffer

    def _read(self) -> None:
        self.buffer, self.at = os.urandom(16 * _BATCH), 0
        self.digits = self.buffer.hex()

    def forget(self) -> None:
        """In a forked child: its parent's bytes are not its own (read anew at the next id)."""
        self.buffer, self.digits, self.at = b"", "", 0

    def next16(self) -> bytes:
        if self.at >= len(self.buffer):
            self._read()
        at = self.at
        self.at = at + 16
        return self.buffer[at : at + 16]

    def next32_digits(self) -> str:
        """The next 16 bytes as 32 hexadecimal digits."""
        if self.at >= len(self.buffer):
            self._read()
        at = self.at
        self.at = at + 16
        return self.digits[2 * at : 2 * at + 32]


_random = _RandomBytes()
# a forked process must not repeat its parent's ids: it forgets the bytes read before the fork
# (told by the interpreter, rather than asking the system for the process id at every id)
os.register_at_fork(after_in_child=_random.forget)


def random_uuid() -> uuid.UUID:
    """A version-4 (random) id, as ``uuid.uuid4()`` makes one."""
    return uuid_of((int.from_bytes(_random.next16()) & ~_VERSION_BITS) | _V4)


# The variant's digit: its two high bits set to 10 (RFC 4122), as ``_VERSION_BITS``/``_V4`` do.
_VARIANT_DIGIT: Final = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def id_text_of(digits: str) -> str:
    """The text of the version-4 id :func:`random_uuid` makes of the bytes whose hexadecimal
    ``digits`` (32, lowercase) are given: the version's digit 4, the variant's 8 to b."""
    return (
        f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
        f"{_VARIANT_DIGIT[digits[16]]}{digits[17:20]}-{digits[20:32]}"
    )


def random_id_text() -> str:
    """``str(random_uuid())``, without making the ``uuid.UUID``."""
    return id_text_of(_random.next32_digits())
