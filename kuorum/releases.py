"""Check released shares and open the payload with t of them: pure, for every collector.

The operator (delivery Secret) and ``kuorum agent`` (delivery Pod) receive shares the
same way: each sealed to their ephemeral key by a node and signed by it. These are the
checks both make and the one way both rebuild the key and open the payload.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import (
    EncryptionPrivateKey,
    EnvelopeError,
    SealedShare,
    ShareContext,
    decrypt_payload,
    open_share,
)
from kuorum.nodeapi import Released


def open_payload(
    shares: Sequence[sharing.Share],
    commitments: sharing.Commitments,
    payloads: Sequence[tuple[bytes, bytes]],
    *,
    namespace: str,
    name: str,
    version: int,
) -> dict[str, bytes] | None:
    """The values of the first ``(payload, rule)`` that opens under the key of ``shares``
    (t valid ones), or None: the AEAD tag tells a node's tampered copy from a true one."""
    key = sharing.combine(shares, commitments)
    for payload, rule in payloads:
        try:
            return decrypt_payload(
                payload, key, namespace=namespace, name=name, version=version, rule=rule
            )
        except EnvelopeError:
            continue
    return None


def check_share(
    released: Released,
    ephemeral: EncryptionPrivateKey,
    context: ShareContext,
    signing_key: bytes,
    commitments_digest: str | None,
) -> sharing.Share | None:
    """The share if every check passes, else None (the node is to blame).

    With ``commitments_digest`` None, any well-formed commitments are taken: the caller
    (``kuorum agent``, which knows no digest in advance) cross-checks them between nodes.
    """
    try:
        commitments = sharing.Commitments.from_bytes(released.commitments)
        if commitments_digest is not None and commitments.digest() != commitments_digest:
            return None
        share = open_share(
            SealedShare.from_bytes(released.sealed_share),
            recipient=ephemeral,
            context=context,
            sender=ed25519.Ed25519PublicKey.from_public_bytes(signing_key),
        )
    except (EnvelopeError, sharing.SharingError, ValueError):
        return None
    return share if sharing.verify(share, commitments) else None
