"""Standard base64: the encoding of every binary field Kuorum writes (API, status, files).

Decoding is strict (no stray characters), and a failure is raised as the caller's own
error type with the field named, never the value: some fields carry sealed shares.
"""

from __future__ import annotations

import base64
import binascii


def encode(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def decode(value: object, what: str, error: type[Exception] = ValueError) -> bytes:
    """Strictly decode ``value``; raise ``error`` naming ``what`` when it is not base64."""
    if not isinstance(value, str):
        raise error(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise error(f"{what} is not valid base64") from None
