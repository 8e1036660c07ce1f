"""A share node's identity: its HPKE key and Ed25519 signing key, the public half it
publishes in its ShareNode, and the files or Secret data that keep the private half.

Files: ``signing.key`` (PKCS#8 PEM) and ``encryption.key`` (one line:
``kuorum-encryption-key-v1 <KEM> <base64 private key>``), mode 0600.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import b64
from kuorum.envelope import _codec
from kuorum.envelope._errors import InvalidKey
from kuorum.envelope._keys import (
    DEFAULT_KEM,
    EncryptionPrivateKey,
    EncryptionPublicKey,
    check_kem,
    sized,
)
from kuorum.files import write_private


def signing_public_from_bytes(data: bytes) -> ed25519.Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key, as :class:`InvalidKey` on failure."""
    data = sized(data, 32, "an Ed25519 key")
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
            "signingKey": b64.encode(self.signing.public_bytes_raw()),
            "encryptionKey": {
                "kem": str(self.encryption.kem),
                "publicKey": b64.encode(self.encryption.to_bytes()),
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
            signing_public_from_bytes(b64.decode(spec.get("signingKey"), "signingKey", InvalidKey)),
            EncryptionPublicKey.from_bytes(
                b64.decode(encryption.get("publicKey"), "encryptionKey.publicKey", InvalidKey),
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
        raw = b64.encode(self.encryption.private_bytes())
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
            b64.decode(raw, _ENCRYPTION_FILE, InvalidKey), kem=kem
        )
        return cls(encryption, signing)

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write both keys into ``directory`` (mode 0600 files, each replaced atomically)."""
        root = Path(directory)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, content in self.to_secret_data().items():
            write_private(root / name, content)

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
