"""A thin, typed wrapper over libsodium's ristretto255 group (through pysodium).

Kuorum does no curve arithmetic of its own: every group and scalar operation below is
one libsodium call. This module adds only what libsodium leaves to the caller:

- types and lengths are checked before anything reaches C;
- points from outside must pass :func:`is_valid_point` (see :func:`point`);
- the identity element. Its encoding is 32 zero bytes; libsodium's scalar
  multiplications refuse to *return* it. In a prime-order group ``k*P`` is the identity
  exactly when ``k == 0`` or ``P`` is the identity, so those two cases are answered
  here and any other failure is a bug (:class:`GroupError`).

Scalars are 32-byte little-endian canonical encodings (< the group order L); points are
32-byte canonical ristretto255 encodings. Both are plain ``bytes``.
"""

from __future__ import annotations

import hashlib
import hmac

import pysodium

from kuorum.errors import KuorumError

SCALAR_BYTES = 32
POINT_BYTES = 32
ORDER = 2**252 + 27742317777372353535851937790883648493
"""The order L of the ristretto255 group (and the size of its scalar field)."""

IDENTITY = bytes(POINT_BYTES)
ZERO = bytes(SCALAR_BYTES)
ONE = (1).to_bytes(SCALAR_BYTES, "little")


class GroupError(KuorumError):
    """libsodium refused an operation that should not fail: a bug, not bad input."""


def _check(value: bytes, size: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != size:
        raise TypeError(f"{what} must be {size} bytes")


def _is_zero(scalar: bytes) -> bool:
    return hmac.compare_digest(scalar, ZERO)


# --- scalars ------------------------------------------------------------------------


def scalar(value: int) -> bytes:
    """Encode a small public integer (a share index, a power of one) as a scalar."""
    if not 0 <= value < ORDER:
        raise ValueError("scalar out of range")
    return value.to_bytes(SCALAR_BYTES, "little")


def is_canonical_scalar(value: bytes) -> bool:
    """Whether ``value`` is 32 bytes encoding an integer below L (constant time)."""
    if not isinstance(value, bytes) or len(value) != SCALAR_BYTES:
        return False
    return hmac.compare_digest(scalar_reduce(value + ZERO), value)


def scalar_random() -> bytes:
    """A uniformly random scalar from libsodium's CSPRNG."""
    out: bytes = pysodium.crypto_core_ristretto255_scalar_random()
    return out


def scalar_reduce(wide: bytes) -> bytes:
    """Reduce 64 bytes (e.g. a SHA-512 digest) modulo L."""
    _check(wide, 2 * SCALAR_BYTES, "wide scalar")
    out: bytes = pysodium.crypto_core_ristretto255_scalar_reduce(wide)
    return out


def scalar_add(x: bytes, y: bytes) -> bytes:
    _check(x, SCALAR_BYTES, "scalar")
    _check(y, SCALAR_BYTES, "scalar")
    out: bytes = pysodium.crypto_core_ristretto255_scalar_add(x, y)
    return out


def scalar_mul(x: bytes, y: bytes) -> bytes:
    _check(x, SCALAR_BYTES, "scalar")
    _check(y, SCALAR_BYTES, "scalar")
    out: bytes = pysodium.crypto_core_ristretto255_scalar_mul(x, y)
    return out


# --- points -------------------------------------------------------------------------


def is_valid_point(value: bytes) -> bool:
    """Whether ``value`` is a canonical encoding of a ristretto255 group element."""
    if not isinstance(value, bytes) or len(value) != POINT_BYTES:
        return False
    return bool(pysodium.crypto_core_ristretto255_is_valid_point(value))


def point(value: bytes) -> bytes:
    """Check a point that comes from outside; raise ``ValueError`` if it is not one."""
    if not is_valid_point(value):
        raise ValueError("not a valid ristretto255 point")
    return value


def point_add(p: bytes, q: bytes) -> bytes:
    _check(p, POINT_BYTES, "point")
    _check(q, POINT_BYTES, "point")
    try:
        out: bytes = pysodium.crypto_core_ristretto255_add(p, q)
    except ValueError as error:
        raise GroupError("point addition failed") from error
    return out


def point_from_hash(digest: bytes) -> bytes:
    """Map 64 uniform bytes to a point with no known discrete logarithm."""
    _check(digest, 64, "hash")
    out: bytes = pysodium.crypto_core_ristretto255_from_hash(digest)
    return out


def scalarmult_base(k: bytes) -> bytes:
    """``k * G`` for the standard generator G; the identity when ``k`` is zero."""
    _check(k, SCALAR_BYTES, "scalar")
    if _is_zero(k):
        return IDENTITY
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255_base(k)
    except ValueError as error:
        raise GroupError("base scalar multiplication failed") from error
    return out


def scalarmult(k: bytes, p: bytes) -> bytes:
    """``k * P`` (no clamping); the identity when ``k`` is zero or ``P`` is the identity."""
    _check(k, SCALAR_BYTES, "scalar")
    _check(p, POINT_BYTES, "point")
    if _is_zero(k) or hmac.compare_digest(p, IDENTITY):
        return IDENTITY
    try:
        out: bytes = pysodium.crypto_scalarmult_ristretto255(k, p)
    except ValueError as error:
        raise GroupError("scalar multiplication failed") from error
    return out


PEDERSEN_H_LABEL = b"kuorum/pedersen/H/v1"
PEDERSEN_H = point_from_hash(hashlib.sha512(PEDERSEN_H_LABEL).digest())
"""Pedersen's second generator: hash-to-group of a fixed label, so nobody knows log_G(H)."""
