"""Store receipts: a node's signed word that it holds one share of one secret version.

The node signs; :func:`check` is what the operator does with every receipt before it
commits a version (the right node, secret, version and index, digests of exactly what was
sent, signed by the node's pinned ``spec.signingKey``), and the format lives in the core
so both sides can reach it. Signed bytes:
``b"kuorum/receipt/v1\\n"`` followed by the canonical JSON of the receipt (sorted keys,
no whitespace, UTF-8); the label keeps a receipt signature from meaning anything else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.errors import KuorumError

LABEL = b"kuorum/receipt/v1\n"


class InvalidReceipt(KuorumError):
    """A receipt that is malformed or not signed by the expected node."""


@dataclass(frozen=True)
class Receipt:
    """What a node acknowledged storing; digests are hex SHA-256 of what it received."""

    node: str
    namespace: str
    name: str
    version: int
    index: int
    sealed_share_sha256: str
    commitments_sha256: str
    payload_sha256: str
    ledger_index: int
    """Index of the ``share.stored`` entry in the node's ledger."""

    @classmethod
    def of(
        cls,
        node: str,
        namespace: str,
        name: str,
        version: int,
        index: int,
        *,
        sealed_share: bytes,
        commitments: bytes,
        payload: bytes,
        ledger_index: int,
    ) -> Receipt:
        """The receipt for exactly these bytes."""
        return cls(
            node, namespace, name, version, index,
            hashlib.sha256(sealed_share).hexdigest(),
            hashlib.sha256(commitments).hexdigest(),
            hashlib.sha256(payload).hexdigest(),
            ledger_index,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the API's ``receipt`` object)."""
        return {
            "node": self.node,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "index": self.index,
            "sealedShareSha256": self.sealed_share_sha256,
            "commitmentsSha256": self.commitments_sha256,
            "payloadSha256": self.payload_sha256,
            "ledgerIndex": self.ledger_index,
        }

    @classmethod
    def from_dict(cls, data: object) -> Receipt:
        """Read the JSON form; :class:`InvalidReceipt` names a missing or mistyped field."""
        if not isinstance(data, dict):
            raise InvalidReceipt("a receipt must be a JSON object")
        fields: dict[str, Any] = {}
        for key, attribute, kind in _FIELDS:
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidReceipt(f"receipt field {key!r} is missing or not a {kind.__name__}")
            fields[attribute] = value
        return cls(**fields)

    def signed_bytes(self) -> bytes:
        """What the node's Ed25519 key signs."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return LABEL + canonical.encode()

    def sign(self, key: ed25519.Ed25519PrivateKey) -> bytes:
        """The node's signature over :meth:`signed_bytes`."""
        return key.sign(self.signed_bytes())

    def verify(self, signature: bytes, key: ed25519.Ed25519PublicKey) -> None:
        """Check the node's signature; :class:`InvalidReceipt` if it does not hold."""
        try:
            key.verify(signature, self.signed_bytes())
        except InvalidSignature:
            raise InvalidReceipt(
                f"the receipt for {self.namespace}/{self.name} version {self.version} is not "
                f"signed by the pinned key of node {self.node}"
            ) from None


_FIELDS = (
    ("node", "node", str),
    ("namespace", "namespace", str),
    ("name", "name", str),
    ("version", "version", int),
    ("index", "index", int),
    ("sealedShareSha256", "sealed_share_sha256", str),
    ("commitmentsSha256", "commitments_sha256", str),
    ("payloadSha256", "payload_sha256", str),
    ("ledgerIndex", "ledger_index", int),
)


def check(answer: object, signature: bytes, key: bytes, expected: Receipt) -> Receipt:
    """The receipt in ``answer`` if it acknowledges exactly ``expected`` (its ledger index
    aside) under the Ed25519 public ``key``; else :class:`InvalidReceipt` naming the field."""
    receipt = Receipt.from_dict(answer)
    for field in _ACKNOWLEDGED:
        if getattr(receipt, field) != getattr(expected, field):
            raise InvalidReceipt(
                f"the receipt of node {expected.node} for {expected.namespace}/{expected.name} "
                f"version {expected.version} acknowledges another {field}"
            )
    try:
        public = ed25519.Ed25519PublicKey.from_public_bytes(key)
    except ValueError:
        raise InvalidReceipt(f"node {expected.node} has no valid signing key") from None
    receipt.verify(signature, public)
    return receipt


_ACKNOWLEDGED = (
    "node",
    "namespace",
    "name",
    "version",
    "index",
    "sealed_share_sha256",
    "commitments_sha256",
    "payload_sha256",
)
"""Receipt fields that must match what was sent (the ledger index is the node's own)."""
