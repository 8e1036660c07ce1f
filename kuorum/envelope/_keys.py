"""HPKE encryption keys (hybrid ML-KEM-768 + X25519, or plain X25519) and their bytes.

``cryptography`` cannot serialize hybrid ``MLKEM768_X25519`` private keys, so Kuorum
keeps their parts itself: the 64-byte ML-KEM seed and the 32-byte X25519 key.
Raw encodings (no KEM tag; the KEM travels beside them):

- X25519: public 32 bytes, private 32 bytes;
- MLKEM768_X25519: public ``mlkem768(1184) || x25519(32)``, private ``seed(64) || x25519(32)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Final, TypeAlias

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from kuorum.envelope import _codec
from kuorum.envelope._errors import InvalidKey


class Kem(StrEnum):
    """HPKE key encapsulations Kuorum seals shares under (the one list; the CRD uses it)."""

    MLKEM768_X25519 = "MLKEM768_X25519"
    X25519 = "X25519"


KEMS: Final[tuple[Kem, ...]] = tuple(Kem)
DEFAULT_KEM: Final = Kem.MLKEM768_X25519

_MLKEM_PUBLIC = 1184
_MLKEM_SEED = 64
_X25519 = 32
PUBLIC_KEY_BYTES: Final[dict[Kem, int]] = {
    Kem.MLKEM768_X25519: _MLKEM_PUBLIC + _X25519,
    Kem.X25519: _X25519,
}
"""Raw public key sizes: ML-KEM-768 (1184 bytes) followed by X25519 (32), or X25519 alone."""
_PRIVATE_BYTES: Final[dict[Kem, int]] = {
    Kem.X25519: _X25519,
    Kem.MLKEM768_X25519: _MLKEM_SEED + _X25519,
}

HpkePublic: TypeAlias = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
HpkePrivate: TypeAlias = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


def check_kem(kem: object) -> Kem:
    """Return ``kem`` if it names a supported KEM, else raise :class:`InvalidKey`."""
    if not isinstance(kem, str) or kem not in KEMS:
        raise InvalidKey(f"unknown KEM {kem!r}; expected one of {', '.join(KEMS)}")
    return Kem(kem)


def sized(data: object, size: int, what: str) -> bytes:
    if not isinstance(data, bytes) or len(data) != size:
        raise InvalidKey(f"{what} must be {size} bytes")
    return data


def hpke_kem(kem: Kem) -> hpke.KEM:
    return hpke.KEM.MLKEM768_X25519 if kem == "MLKEM768_X25519" else hpke.KEM.X25519


@dataclass(frozen=True, eq=False)
class EncryptionPublicKey:
    """A recipient's HPKE public key: where shares are sealed to."""

    kem: Kem
    _raw: bytes

    def __post_init__(self) -> None:
        check_kem(self.kem)
        sized(self._raw, PUBLIC_KEY_BYTES[self.kem], f"a {self.kem} public key")
        self.hpke_key()  # refuse bytes that cryptography cannot load

    @classmethod
    def from_bytes(cls, data: bytes, *, kem: str) -> EncryptionPublicKey:
        """Load the raw public key of ``kem`` (see the module docstring)."""
        return cls(check_kem(kem), data)

    def to_bytes(self) -> bytes:
        return self._raw

    def hpke_key(self) -> HpkePublic:
        """The ``cryptography`` object HPKE encrypts to."""
        try:
            if self.kem == "X25519":
                return x25519.X25519PublicKey.from_public_bytes(self._raw)
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(self._raw[:_MLKEM_PUBLIC]),
                x25519.X25519PublicKey.from_public_bytes(self._raw[_MLKEM_PUBLIC:]),
            )
        except ValueError:
            raise InvalidKey(f"not a valid {self.kem} public key") from None

    def fingerprint_bytes(self) -> bytes:
        """SHA-256 over the KEM name and the key: what a sealed share's signature binds."""
        return hashlib.sha256(_codec.fields(_codec.text(self.kem), self._raw)).digest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EncryptionPublicKey):
            return NotImplemented
        return self.kem == other.kem and self._raw == other._raw

    def __hash__(self) -> int:
        return hash((self.kem, self._raw))

    def __repr__(self) -> str:
        short = self.fingerprint_bytes().hex()[:16]
        return f"EncryptionPublicKey(kem={self.kem!r}, fingerprint={short})"


@dataclass(frozen=True, eq=False, repr=False)
class EncryptionPrivateKey:
    """An HPKE private key: a node's long-term key, or an operator's ephemeral release key."""

    kem: Kem
    _raw: bytes

    def __post_init__(self) -> None:
        check_kem(self.kem)
        sized(self._raw, _PRIVATE_BYTES[self.kem], f"a {self.kem} private key")

    @classmethod
    def generate(cls, *, kem: str = DEFAULT_KEM) -> EncryptionPrivateKey:
        """A fresh key pair for ``kem`` ("MLKEM768_X25519" by default, or "X25519")."""
        kem = check_kem(kem)
        x = x25519.X25519PrivateKey.generate().private_bytes_raw()
        if kem == "X25519":
            return cls(kem, x)
        return cls(kem, mlkem.MLKEM768PrivateKey.generate().private_bytes_raw() + x)

    @classmethod
    def from_private_bytes(cls, data: bytes, *, kem: str) -> EncryptionPrivateKey:
        """Load :meth:`private_bytes` output."""
        return cls(check_kem(kem), data)

    def private_bytes(self) -> bytes:
        """The raw private key (see the module docstring). Handle as a secret."""
        return self._raw

    def hpke_key(self) -> HpkePrivate:
        """The ``cryptography`` object HPKE decrypts with."""
        return self._hpke

    @cached_property
    def _hpke(self) -> HpkePrivate:
        x = x25519.X25519PrivateKey.from_private_bytes(self._raw[-_X25519:])
        if self.kem == "X25519":
            return x
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self._raw[:_MLKEM_SEED]), x
        )

    def public_key(self) -> EncryptionPublicKey:
        return self._public

    @cached_property
    def _public(self) -> EncryptionPublicKey:
        x = x25519.X25519PrivateKey.from_private_bytes(self._raw[-_X25519:])
        x_public = x.public_key().public_bytes_raw()
        if self.kem == "X25519":
            return EncryptionPublicKey(self.kem, x_public)
        m = mlkem.MLKEM768PrivateKey.from_seed_bytes(self._raw[:_MLKEM_SEED])
        return EncryptionPublicKey(self.kem, m.public_key().public_bytes_raw() + x_public)

    def __repr__(self) -> str:
        return f"EncryptionPrivateKey(kem={self.kem!r}, <hidden>)"
