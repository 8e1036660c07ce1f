"""Deal one version of a secret: draw a data key, encrypt the payload, seal a share per node.

Pure (no I/O): the reconciler sends what this returns. The data key lives only inside
:func:`deal`; what leaves is the payload ciphertext, the public commitments and, for
each chosen node, its share sealed to that node's key and signed by the dealer.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import EncryptionPublicKey, ShareContext, encrypt_payload, seal_share
from kuorum.models import Generate, Sealed
from kuorum.operator.nodes import NodeView


@dataclass(frozen=True)
class Dealt:
    """One version ready to send: a store body per node, and the commitments' digest."""

    version: int
    bodies: Mapping[str, dict[str, Any]] = field(repr=False)
    indexes: Mapping[str, int]
    commitments_digest: str


def generate_values(spec: Generate) -> dict[str, bytes]:
    """Fresh random values for every key of a ``generate`` source (secrets module)."""
    return {
        key.name: "".join(secrets.choice(key.charset.alphabet) for _ in range(key.length)).encode()
        for key in spec.keys
    }


def deal(
    data: Mapping[str, bytes],
    *,
    namespace: str,
    name: str,
    version: int,
    threshold: int,
    nodes: Sequence[NodeView],
    dealer: ed25519.Ed25519PrivateKey,
) -> Dealt:
    """Split a fresh data key t-of-n over ``nodes`` (index i+1 goes to ``nodes[i]``)."""
    key = sharing.new_data_key()
    payload = encrypt_payload(data, key, namespace=namespace, name=name, version=version)
    dealing = sharing.split(key, threshold, len(nodes))
    commitments = dealing.commitments.to_bytes()
    bodies: dict[str, dict[str, Any]] = {}
    indexes: dict[str, int] = {}
    for node, share in zip(nodes, dealing.shares, strict=True):
        recipient = EncryptionPublicKey.from_bytes(node.encryption_key, kem=node.encryption_kem)
        context = ShareContext(namespace, name, version, share.index, node.name, "store")
        sealed = seal_share(share, recipient=recipient, context=context, sender=dealer)
        bodies[node.name] = _body(share.index, threshold, sealed.to_bytes(), commitments, payload)
        indexes[node.name] = share.index
    return Dealt(version, bodies, indexes, sharing.commitments_digest(dealing.commitments))


def forward_sealed(sealed: Sealed, *, threshold: int, version: int) -> Dealt:
    """Store bodies for a ``sealed`` source: the operator forwards what it cannot open."""
    commitments = sharing.Commitments.from_bytes(sealed.commitments)
    bodies = {
        share.node: _body(
            share.index, threshold, share.sealed_share, sealed.commitments, sealed.payload
        )
        for share in sealed.shares
    }
    indexes = {share.node: share.index for share in sealed.shares}
    return Dealt(version, bodies, indexes, sharing.commitments_digest(commitments))


def _body(
    index: int, threshold: int, sealed: bytes, commitments: bytes, payload: bytes
) -> dict[str, Any]:
    return {
        "index": index,
        "threshold": threshold,
        "sealedShare": _b64(sealed),
        "commitments": _b64(commitments),
        "payload": _b64(payload),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
