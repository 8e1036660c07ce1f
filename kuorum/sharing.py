"""Verifiable t-of-n sharing of a data key: Shamir over ristretto255's scalar field,
with Pedersen commitments.

Why Pedersen: every share can be checked against public commitments, so a node that
returns a wrong share is caught and named, while the commitments themselves reveal
nothing about the secret (they are perfectly hiding). Fewer than t shares reveal
nothing either. The scheme, encodings and threat model are in ``docs/cryptography.md``.

A data key is a canonical ristretto255 scalar (32 bytes, little-endian, below the
group order); :func:`new_data_key` draws one. The same 32 bytes serve as the payload's
AES-256-GCM key.

Errors::

    KuorumError
     └─ SharingError
         ├─ InvalidParameters   bad threshold/count/secret given to split (also ValueError)
         ├─ MalformedEncoding   bytes or values that are not a well-formed share or
         │                      commitment list (also ValueError)
         └─ NotEnoughShares     fewer than t valid shares; lists bad and missing indexes
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kuorum import _group as g
from kuorum.errors import KuorumError

__all__ = [
    "COMMITMENTS_VERSION",
    "MAX_SHARES",
    "SECRET_BYTES",
    "SHARE_VERSION",
    "Commitments",
    "Dealing",
    "InvalidParameters",
    "MalformedEncoding",
    "NotEnoughShares",
    "Reconstruction",
    "Share",
    "SharingError",
    "combine",
    "new_data_key",
    "reconstruct",
    "split",
    "verify",
]

MAX_SHARES = 16
SECRET_BYTES = g.SCALAR_BYTES
SHARE_VERSION = 0x01
"""Share encoding: version(1) || index(1) || value(32) || blinding(32) = 66 bytes."""
COMMITMENTS_VERSION = 0x01
"""Commitments encoding: version(1) || t(1) || n(1) || t points of 32 bytes."""

_SHARE_LEN = 2 + 2 * g.SCALAR_BYTES
_COMMITMENTS_HEADER = 3


class SharingError(KuorumError):
    """Base of every error raised by :mod:`kuorum.sharing`."""


class InvalidParameters(SharingError, ValueError):
    """``split`` was given a threshold, share count or secret it cannot use."""


class MalformedEncoding(SharingError, ValueError):
    """Bytes or values that are not a well-formed share or commitment list."""


class NotEnoughShares(SharingError):
    """Fewer than t valid shares: says which were bad and which never arrived."""

    def __init__(
        self, *, needed: int, valid: int, bad: Sequence[int], missing: Sequence[int]
    ) -> None:
        self.needed = needed
        self.valid = valid
        self.bad: tuple[int, ...] = tuple(bad)
        self.missing: tuple[int, ...] = tuple(missing)
        super().__init__(
            f"need {needed} valid shares, have {valid}; "
            f"bad share indexes: {list(self.bad) or 'none'}; "
            f"missing share indexes: {list(self.missing) or 'none'}"
        )


def _check_index(index: object) -> None:
    if type(index) is not int or not 1 <= index <= MAX_SHARES:
        raise MalformedEncoding(f"share index must be an integer from 1 to {MAX_SHARES}")


@dataclass(frozen=True, repr=False)
class Share:
    """Share number ``index`` (1-based): f(index) and the blinding g(index).

    Its repr shows the index only.
    """

    index: int
    value: bytes
    blinding: bytes

    def __post_init__(self) -> None:
        _check_index(self.index)
        if not (g.is_canonical_scalar(self.value) and g.is_canonical_scalar(self.blinding)):
            raise MalformedEncoding(f"share {self.index} does not hold two canonical scalars")

    def __repr__(self) -> str:
        return f"Share(index={self.index}, value=<hidden>, blinding=<hidden>)"

    def to_bytes(self) -> bytes:
        """The versioned 66-byte encoding (see :data:`SHARE_VERSION`)."""
        return bytes((SHARE_VERSION, self.index)) + self.value + self.blinding

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Share:
        """Parse :meth:`to_bytes` output; raise :class:`MalformedEncoding` otherwise."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedEncoding("a share must be bytes")
        data = bytes(data)
        if len(data) != _SHARE_LEN:
            raise MalformedEncoding(f"a share is {_SHARE_LEN} bytes, got {len(data)}")
        if data[0] != SHARE_VERSION:
            raise MalformedEncoding(f"unknown share encoding version {data[0]}")
        return cls(data[1], data[2:34], data[34:66])


@dataclass(frozen=True)
class Commitments:
    """Public Pedersen commitments C_j = a_j*G + b_j*H to the t coefficients.

    They also carry n, the number of shares dealt, so that a reconstruction can say
    which indexes are missing. Every point is checked to be a valid ristretto255
    element when the object is built.
    """

    threshold: int
    shares: int
    points: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_parameters(self.threshold, self.shares, MalformedEncoding)
        if not isinstance(self.points, tuple) or len(self.points) != self.threshold:
            raise MalformedEncoding(f"expected {self.threshold} commitment points")
        for j, p in enumerate(self.points):
            if not g.is_valid_point(p):
                raise MalformedEncoding(f"commitment point {j} is not a ristretto255 point")

    def to_bytes(self) -> bytes:
        """The versioned encoding (see :data:`COMMITMENTS_VERSION`)."""
        return bytes((COMMITMENTS_VERSION, self.threshold, self.shares)) + b"".join(self.points)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Commitments:
        """Parse :meth:`to_bytes` output; raise :class:`MalformedEncoding` otherwise."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedEncoding("commitments must be bytes")
        data = bytes(data)
        if len(data) < _COMMITMENTS_HEADER:
            raise MalformedEncoding("commitments are too short")
        version, threshold, shares = data[0], data[1], data[2]
        if version != COMMITMENTS_VERSION:
            raise MalformedEncoding(f"unknown commitments encoding version {version}")
        expected = _COMMITMENTS_HEADER + threshold * g.POINT_BYTES
        if len(data) != expected:
            raise MalformedEncoding(
                f"commitments for threshold {threshold} are {expected} bytes, got {len(data)}"
            )
        points = tuple(
            data[k : k + g.POINT_BYTES] for k in range(_COMMITMENTS_HEADER, expected, g.POINT_BYTES)
        )
        return cls(threshold, shares, points)

    def digest(self) -> str:
        """Hex SHA-256 of the encoding: what the operator pins in the resource status."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


@dataclass(frozen=True, repr=False)
class Dealing:
    """The output of :func:`split`: n shares (index 1..n, in order) and the commitments."""

    shares: tuple[Share, ...]
    commitments: Commitments

    def __repr__(self) -> str:
        c = self.commitments
        return f"Dealing(threshold={c.threshold}, shares={c.shares}, <hidden>)"


@dataclass(frozen=True, repr=False)
class Reconstruction:
    """A recovered secret and the indexes of the shares that failed verification."""

    secret: bytes
    bad_indexes: tuple[int, ...]

    def __repr__(self) -> str:
        return f"Reconstruction(secret=<hidden>, bad_indexes={self.bad_indexes})"


def _check_parameters(threshold: object, shares: object, error: type[SharingError]) -> None:
    if type(threshold) is not int or type(shares) is not int:
        raise error("threshold and share count must be integers")
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise error(
            f"need 1 <= threshold <= shares <= {MAX_SHARES}, "
            f"got threshold {threshold} and {shares} shares"
        )


def new_data_key() -> bytes:
    """A fresh random data key: a canonical ristretto255 scalar from libsodium's CSPRNG."""
    return g.scalar_random()


def _evaluate(coefficients: Sequence[bytes], x: bytes) -> bytes:
    """Horner's rule with constant-time libsodium scalar operations."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = g.scalar_add(g.scalar_mul(acc, x), c)
    return acc


def split(secret: bytes, threshold: int, shares: int) -> Dealing:
    """Split a data key into ``shares`` shares, any ``threshold`` of which recover it."""
    _check_parameters(threshold, shares, InvalidParameters)
    if not g.is_canonical_scalar(secret):
        raise InvalidParameters(
            "the secret must be 32 bytes encoding a canonical ristretto255 scalar; "
            "draw it with new_data_key()"
        )
    f = [secret, *(g.scalar_random() for _ in range(threshold - 1))]
    b = [g.scalar_random() for _ in range(threshold)]
    points = tuple(
        g.point_add(g.scalarmult_base(a_j), g.scalarmult(b_j, g.PEDERSEN_H))
        for a_j, b_j in zip(f, b, strict=True)
    )
    dealt = []
    for i in range(1, shares + 1):
        x = g.scalar(i)
        dealt.append(Share(i, _evaluate(f, x), _evaluate(b, x)))
    return Dealing(tuple(dealt), Commitments(threshold, shares, points))


def _weighted_check(
    shares: Sequence[Share], weights: Sequence[int], commitments: Commitments
) -> bool:
    """Whether sum_i w_i*(f_i*G + g_i*H - sum_j i^j*C_j) is the identity.

    With one share and weight 1 this is the plain Pedersen check; with random weights it
    checks a whole batch at the cost of about one share (a false accept has probability
    1/L per batch).
    """
    value, blinding = g.ZERO, g.ZERO
    exponents = [0] * commitments.threshold
    for share, w in zip(shares, weights, strict=True):
        ws = g.scalar(w)
        value = g.scalar_add(value, g.scalar_mul(ws, share.value))
        blinding = g.scalar_add(blinding, g.scalar_mul(ws, share.blinding))
        power = w
        for j in range(commitments.threshold):
            exponents[j] = (exponents[j] + power) % g.ORDER
            power = power * share.index % g.ORDER
    left = g.point_add(g.scalarmult_base(value), g.scalarmult(blinding, g.PEDERSEN_H))
    right = g.IDENTITY
    for e, c in zip(exponents, commitments.points, strict=True):
        right = g.point_add(right, c if e == 1 else g.scalarmult(g.scalar(e), c))
    return hmac.compare_digest(left, right)


def verify(share: Share, commitments: Commitments) -> bool:
    """Whether ``share`` is consistent with ``commitments`` (Pedersen's check)."""
    if not isinstance(share, Share) or not isinstance(commitments, Commitments):
        raise TypeError("verify() takes a Share and Commitments")
    if share.index > commitments.shares:
        return False
    return _weighted_check([share], [1], commitments)


def _random_weight() -> int:
    return int.from_bytes(g.scalar_random(), "little")


def _valid_subset(shares: Sequence[Share], commitments: Commitments) -> list[Share]:
    """The shares that verify: one batched check, and one by one only if it fails."""
    in_range = [s for s in shares if s.index <= commitments.shares]
    if in_range and _weighted_check(in_range, [_random_weight() for _ in in_range], commitments):
        return in_range
    return [s for s in in_range if _weighted_check([s], [1], commitments)]


def _lagrange_at_zero(indexes: Sequence[int]) -> list[bytes]:
    """Lagrange coefficients for interpolation at 0 (public values: indexes only)."""
    coefficients = []
    for i in indexes:
        numerator, denominator = 1, 1
        for j in indexes:
            if j != i:
                numerator = numerator * j % g.ORDER
                denominator = denominator * (j - i) % g.ORDER
        coefficients.append(g.scalar(numerator * pow(denominator, -1, g.ORDER) % g.ORDER))
    return coefficients


def reconstruct(shares: Iterable[Share], commitments: Commitments) -> Reconstruction:
    """Verify every share, then recover the secret from t valid ones.

    Returns the secret and the indexes of shares that failed verification, so that the
    caller can blame the nodes that sent them. Raises :class:`NotEnoughShares` (naming
    the bad and the missing indexes) when fewer than t shares are valid.
    """
    if not isinstance(commitments, Commitments):
        raise TypeError("reconstruct() takes Commitments")
    given = list(shares)
    if not all(isinstance(s, Share) for s in given):
        raise TypeError("reconstruct() takes Share objects")
    passed = _valid_subset(given, commitments)
    valid: dict[int, Share] = {}
    for s in passed:
        valid.setdefault(s.index, s)
    passed_ids = {id(s) for s in passed}
    bad = tuple(sorted({s.index for s in given if id(s) not in passed_ids}))
    if len(valid) < commitments.threshold:
        present = {s.index for s in given}
        missing = [i for i in range(1, commitments.shares + 1) if i not in present]
        raise NotEnoughShares(
            needed=commitments.threshold, valid=len(valid), bad=bad, missing=missing
        )
    chosen = sorted(valid)[: commitments.threshold]
    secret = g.ZERO
    for i, coefficient in zip(chosen, _lagrange_at_zero(chosen), strict=True):
        secret = g.scalar_add(secret, g.scalar_mul(coefficient, valid[i].value))
    return Reconstruction(secret, bad)


def combine(shares: Iterable[Share], commitments: Commitments) -> bytes:
    """Verify every share and return the secret (see :func:`reconstruct` for blame)."""
    return reconstruct(shares, commitments).secret
