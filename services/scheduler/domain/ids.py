"""Identifiers for the tick's hot path, made without ``uuid.UUID.__init__``.

A tick makes a name-based id per reminder and a random one per state change: building them
through ``uuid.uuid5`` and ``uuid.uuid4`` (the constructor's checks and version arithmetic,
a system call per random id) was about a tenth of a tick's Python time. These make the same
``uuid.UUID`` values: :func:`name_uuid` is ``uuid.uuid5`` bit for bit (unit tests compare
them), :func:`random_uuid` a version-4 id from the operating system's random bytes, read
4,096 ids at a time (and read anew in a forked process, which must not repeat its parent's).
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
    digest = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()
    return uuid_of((int.from_bytes(digest[:16]) & ~_VERSION_BITS) | _V5)


class _RandomBytes:
    def __init__(self) -> None:
        self.pid = -1
        self.buffer = b""
        self.at = 0

    def next16(self) -> bytes:
        if self.at >= len(self.buffer) or self.pid != os.getpid():
            self.pid, self.buffer, self.at = os.getpid(), os.urandom(16 * _BATCH), 0
        at = self.at
        self.at = at + 16
        return self.buffer[at : at + 16]


_random = _RandomBytes()


def random_uuid() -> uuid.UUID:
    """A version-4 (random) id, as ``uuid.uuid4()`` makes one."""
    return uuid_of((int.from_bytes(_random.next16()) & ~_VERSION_BITS) | _V4)
