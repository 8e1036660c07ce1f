"""The ShareNode spec: what a node publishes so others can reach it and pin its keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kuorum import b64
from kuorum.models import _read as read
from kuorum.models._errors import InvalidSpec
from kuorum.models._limits import (
    ED25519_PUBLIC_BYTES,
    ENDPOINT_MAX,
    ENDPOINT_PATTERN,
    KEM_PUBLIC_BYTES,
    LABEL_VALUE_MAX,
    LABEL_VALUE_PATTERN,
    PEM_CERTIFICATE_PATTERN,
    PEM_MAX,
    Kem,
)


@dataclass(frozen=True)
class EncryptionKey:
    """The HPKE public key shares are sealed to."""

    kem: Kem
    public_key: bytes = field(repr=False)

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> EncryptionKey:
        """Parse ``spec.encryptionKey``; the key size must fit the KEM."""
        data = read.obj(data, where, ("kem", "publicKey"))
        kem = read.choice(data, "kem", where, Kem)
        key = read.base64_field(
            data, "publicKey", where, max_length=4096, size=KEM_PUBLIC_BYTES[kem]
        )
        return cls(kem, key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"kem": str(self.kem), "publicKey": b64.encode(self.public_key)}


@dataclass(frozen=True)
class ShareNodeSpec:
    """A share node's registration (written by the node itself at start)."""

    endpoint: str
    signing_key: bytes
    encryption_key: EncryptionKey
    tls_certificate: str = field(repr=False)
    zone: str = ""

    @classmethod
    def from_dict(cls, data: object, *, where: str = "spec") -> ShareNodeSpec:
        """Parse the spec the apiserver gives; InvalidSpec names the field and the fix."""
        data = read.obj(
            data, where, ("endpoint", "zone", "signingKey", "encryptionKey", "tlsCertificate")
        )
        return cls(
            endpoint=read.string(
                data,
                "endpoint",
                where,
                pattern=ENDPOINT_PATTERN,
                max_length=ENDPOINT_MAX,
                hint="an https:// URL",
            ),
            signing_key=read.base64_field(
                data, "signingKey", where, max_length=64, size=ED25519_PUBLIC_BYTES
            ),
            encryption_key=EncryptionKey.from_dict(
                data.get("encryptionKey"), where=f"{where}.encryptionKey"
            ),
            tls_certificate=read.string(
                data,
                "tlsCertificate",
                where,
                pattern=PEM_CERTIFICATE_PATTERN,
                max_length=PEM_MAX,
                hint="a PEM certificate",
            ),
            zone=read.string(
                data,
                "zone",
                where,
                pattern=LABEL_VALUE_PATTERN,
                max_length=LABEL_VALUE_MAX,
                hint="a zone name like eu-west-1a",
            )
            if read.present(data, "zone")
            else "",
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the node publishes."""
        return {
            "endpoint": self.endpoint,
            "zone": self.zone,
            "signingKey": b64.encode(self.signing_key),
            "encryptionKey": self.encryption_key.to_dict(),
            "tlsCertificate": self.tls_certificate,
        }


@dataclass(frozen=True)
class ShareNode:
    """A whole ShareNode resource: its name, labels (for nodeSelector) and parsed spec."""

    name: str
    labels: Mapping[str, str]
    spec: ShareNodeSpec

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ShareNode:
        """Parse an object as the API returns it; errors name ``ShareNode name``."""
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name"))
        try:
            spec = ShareNodeSpec.from_dict(obj.get("spec"))
        except InvalidSpec as error:
            raise error.about(f"ShareNode {name}") from None
        return cls(name, dict(metadata.get("labels") or {}), spec)
