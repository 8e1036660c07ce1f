"""Deal one version of a secret: the node store bodies for each chosen node.

Pure (no I/O): the reconciler sends what this returns. Generated and imported values are
sealed here with :func:`kuorum.sealing.seal`, so the data key lives only inside that
call; a ``sealed`` source arrives already sealed and is forwarded unopened. Both end in
:func:`forward_sealed`: one path to the nodes whatever the source.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.accessrule import AccessRule
from kuorum.models import Generate, Sealed
from kuorum.nodeapi import StoreRequest
from kuorum.placement import NodeView
from kuorum.sealing import Recipient, seal


@dataclass(frozen=True)
class Dealt:
    """One version ready to send: a store body per node, and the commitments' digest."""

    version: int
    bodies: Mapping[str, StoreRequest] = field(repr=False)
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
    rule: AccessRule | None = None,
) -> Dealt:
    """Split a fresh data key t-of-n over ``nodes`` (index i+1 goes to ``nodes[i]``),
    bound to ``rule`` when given (delivery Pod: the nodes check pods against it)."""
    sealed = seal(
        data,
        namespace=namespace,
        name=name,
        version=version,
        threshold=threshold,
        recipients=[Recipient(node.name, node.public_keys) for node in nodes],
        sealer=dealer,
        rule=rule.digest() if rule else b"",
    )
    return forward_sealed(sealed, threshold=threshold, rule=rule)


def forward_sealed(sealed: Sealed, *, threshold: int, rule: AccessRule | None) -> Dealt:
    """Store bodies for sealed shares: the operator forwards what it cannot open, with the
    access rule they were bound to (none for its own dealing in Secret delivery); each
    node checks the rule against the digest the shares were sealed with."""
    commitments = sharing.Commitments.from_bytes(sealed.commitments)
    bodies = {
        share.node: StoreRequest(
            index=share.index,
            threshold=threshold,
            sealed_share=share.sealed_share,
            commitments=sealed.commitments,
            payload=sealed.payload,
            rule=rule.digest() if rule else b"",
            access_rule=rule,
        )
        for share in sealed.shares
    }
    indexes = {share.node: share.index for share in sealed.shares}
    return Dealt(sealed.version, bodies, indexes, commitments.digest())
