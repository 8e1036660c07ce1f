"""Key pairs: HPKE encryption keys (hybrid ML-KEM-768 + X25519 or plain X25519) and a
node's identity (encryption key + Ed25519 signing key), with their serializations.

``cryptography`` cannot serialize hybrid ``MLKEM768_X25519`` private keys, so Kuorum
keeps their parts itself: the 64-byte ML-KEM seed and the 32-byte X25519 key.
Raw encodings (no KEM tag; the KEM travels beside them):

- X25519: public 32 bytes, private 32 bytes;
- MLKEM768_X25519: public ``mlkem768(1184) || x25519(32)``, private ``seed(64) || x25519(32)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from kuorum.envelope import _codec
from kuorum.envelope._errors import InvalidKey

Kem: TypeAlias = Literal["MLKEM768_X25519", "X25519"]
KEMS: Final[tuple[Kem, ...]] = get_args(Kem)
DEFAULT_KEM: Final[Kem] = "MLKEM768_X25519"

_MLKEM_PUBLIC = 1184
_MLKEM_SEED = 64
_X25519 = 32
_PUBLIC_BYTES: Final[dict[Kem, int]] = {
    "X25519": _X25519,
    "MLKEM768_X25519": _MLKEM_PUBLIC + _X25519,
}
_PRIVATE_BYTES: Final[dict[Kem, int]] = {
    "X25519": _X25519,
    "MLKEM768_X25519": _MLKEM_SEED + _X25519,
}

HpkePublic: TypeAlias = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
HpkePrivate: TypeAlias = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


def check_kem(kem: object) -> Kem:
    """Return ``kem`` if it names a supported KEM, else raise :class:`InvalidKey`."""
    if kem not in KEMS:
        raise InvalidKey(f"unknown KEM {kem!r}; expected one of {', '.join(KEMS)}")
    return kem


def _sized(data: object, size: int, what: str) -> bytes:
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
        _sized(self._raw, _PUBLIC_BYTES[self.kem], f"a {self.kem} public key")
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
        _sized(self._raw, _PRIVATE_BYTES[self.kem], f"a {self.kem} private key")

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


def _b64decode(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidKey(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidKey(f"{what} is not valid base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signing_public_from_bytes(data: bytes) -> ed25519.Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key, as :class:`InvalidKey` on failure."""
    data = _sized(data, 32, "an Ed25519 key")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise InvalidKey("not a valid Ed25519 public key") from None


@dataclass(frozen=True)
class NodePublicKeys:
    """What a node publishes in its ShareNode, and what the operator pins."""

    signing: ed25519.Ed25519PublicKey
    encryption: EncryptionPublicKey

    def to_dict(self) -> dict[str, Any]:
        """The ShareNode spec fields ``signingKey`` and ``encryptionKey``."""
        return {
            "signingKey": _b64(self.signing.public_bytes_raw()),
            "encryptionKey": {
                "kem": self.encryption.kem,
                "publicKey": _b64(self.encryption.to_bytes()),
            },
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> NodePublicKeys:
        """Parse :meth:`to_dict` output (e.g. a ShareNode spec); :class:`InvalidKey` if bad."""
        if not isinstance(spec, Mapping):
            raise InvalidKey("node keys must be a mapping")
        encryption = spec.get("encryptionKey")
        if not isinstance(encryption, Mapping):
            raise InvalidKey("encryptionKey must be a mapping with kem and publicKey")
        return cls(
            signing_public_from_bytes(_b64decode(spec.get("signingKey"), "signingKey")),
            EncryptionPublicKey.from_bytes(
                _b64decode(encryption.get("publicKey"), "encryptionKey.publicKey"),
                kem=check_kem(encryption.get("kem")),
            ),
        )

    def fingerprint(self) -> str:
        """Short hex SHA-256 (128 bits) of both keys, for pinning and for humans."""
        digest = hashlib.sha256(
            _codec.fields(
                b"kuorum/node-keys/v1",
                self.signing.public_bytes_raw(),
                self.encryption.fingerprint_bytes(),
            )
        )
        return digest.hexdigest()[:32]


_SIGNING_FILE = "signing.key"
_ENCRYPTION_FILE = "encryption.key"
_ENCRYPTION_HEADER = "kuorum-encryption-key-v1"


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` with mode 0600 atomically: temp file, fsync, rename, fsync dir."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True, eq=False, repr=False)
class NodeKeys:
    """A share node's identity: its HPKE private key and its Ed25519 signing key."""

    encryption: EncryptionPrivateKey
    signing: ed25519.Ed25519PrivateKey

    @classmethod
    def generate(cls, *, kem: str = DEFAULT_KEM) -> NodeKeys:
        return cls(EncryptionPrivateKey.generate(kem=kem), ed25519.Ed25519PrivateKey.generate())

    def public(self) -> NodePublicKeys:
        return NodePublicKeys(self.signing.public_key(), self.encryption.public_key())

    def to_secret_data(self) -> dict[str, bytes]:
        """File name -> contents; the same map fits a Kubernetes Secret's ``data``."""
        signing = self.signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        raw = _b64(self.encryption.private_bytes())
        encryption = f"{_ENCRYPTION_HEADER} {self.encryption.kem} {raw}\n".encode("ascii")
        return {_SIGNING_FILE: signing, _ENCRYPTION_FILE: encryption}

    @classmethod
    def from_secret_data(cls, data: Mapping[str, bytes]) -> NodeKeys:
        """Load :meth:`to_secret_data` output; :class:`InvalidKey` names what is wrong."""
        signing_pem = data.get(_SIGNING_FILE)
        encryption_line = data.get(_ENCRYPTION_FILE)
        if not isinstance(signing_pem, bytes) or not isinstance(encryption_line, bytes):
            raise InvalidKey(
                f"node keys need both {_SIGNING_FILE} and {_ENCRYPTION_FILE}, as bytes"
            )
        try:
            signing = serialization.load_pem_private_key(signing_pem, password=None)
        except (ValueError, TypeError):
            raise InvalidKey(f"{_SIGNING_FILE} is not a PEM private key") from None
        if not isinstance(signing, ed25519.Ed25519PrivateKey):
            raise InvalidKey(f"{_SIGNING_FILE} is not an Ed25519 key")
        try:
            header, kem, raw = encryption_line.decode("ascii").split()
        except (UnicodeDecodeError, ValueError):
            raise InvalidKey(f"{_ENCRYPTION_FILE} is not a Kuorum encryption key") from None
        if header != _ENCRYPTION_HEADER:
            raise InvalidKey(f"{_ENCRYPTION_FILE} has an unknown format {header!r}")
        encryption = EncryptionPrivateKey.from_private_bytes(
            _b64decode(raw, _ENCRYPTION_FILE), kem=kem
        )
        return cls(encryption, signing)

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write both keys into ``directory`` (mode 0600 files, each replaced atomically)."""
        root = Path(directory)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, content in self.to_secret_data().items():
            _write_private(root / name, content)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> NodeKeys:
        """Read keys written by :meth:`save`."""
        root = Path(directory)
        try:
            data = {name: (root / name).read_bytes() for name in (_SIGNING_FILE, _ENCRYPTION_FILE)}
        except FileNotFoundError as error:
            raise InvalidKey(f"node key file missing: {error.filename}") from None
        return cls.from_secret_data(data)

    def __repr__(self) -> str:
        return f"NodeKeys(fingerprint={self.public().fingerprint()}, <hidden>)"
