"""Canonical length-prefixed encoding shared by every envelope format.

Each field is a 4-byte big-endian length and the bytes, so that no two different field
lists encode alike: what is signed or bound as associated data is unambiguous.
"""

from __future__ import annotations

import struct

from kuorum.envelope._errors import MalformedEnvelope

_LEN = struct.Struct(">I")
RULE_BYTES = 32
"""An access rule's digest (SHA-256), bound into share contexts and payload data."""


def fields(*items: bytes) -> bytes:
    """Length-prefix and concatenate ``items``."""
    return b"".join(_LEN.pack(len(item)) + item for item in items)


def rule(digest: bytes) -> bytes:
    """``field(digest)`` for a bound rule, nothing for none (so unbound encodings stay as
    they were); ValueError for any other size."""
    if not isinstance(digest, bytes) or len(digest) not in (0, RULE_BYTES):
        raise ValueError(f"an access rule digest is empty or {RULE_BYTES} bytes")
    return fields(digest) if digest else b""


def text(value: str) -> bytes:
    return value.encode("utf-8")


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


class Reader:
    """Reads what :func:`fields` wrote; every shortfall is a :class:`MalformedEnvelope`."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = memoryview(data)
        self._at = 0
        self._what = what

    def take(self, size: int) -> bytes:
        if size > len(self._data) - self._at:
            raise MalformedEnvelope(f"{self._what} is truncated")
        out = bytes(self._data[self._at : self._at + size])
        self._at += size
        return out

    def field(self) -> bytes:
        (size,) = _LEN.unpack(self.take(_LEN.size))
        return self.take(size)

    def rest(self) -> bytes:
        return self.take(len(self._data) - self._at)

    def end(self) -> None:
        if self._at != len(self._data):
            raise MalformedEnvelope(f"{self._what} has trailing bytes")
