"""Which share nodes can be used, and which n of them get a new version.

Pure, shared by the operator (where to deal) and `kuorum seal` (whom to seal to): works
on ShareNode objects as the apiserver returns them. A node is usable when
its Ready condition is True and its heartbeat is fresh (a killed node stops beating
long before anyone flips its condition). Selection keeps the nodes already chosen
when they are still usable, then adds nodes from the zones used least, so a version
survives the loss of a zone whenever the cluster has enough zones.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.envelope import EncryptionPublicKey, NodePublicKeys
from kuorum.models import LabelSelector, ShareNode, is_ready, parse_time

HEARTBEAT_GRACE = timedelta(seconds=45)
"""By default, a node whose last heartbeat is older than this is treated as down."""


@dataclass(frozen=True)
class NodeView:
    """What the operator and `kuorum seal` need to know of one ShareNode."""

    name: str
    zone: str
    labels: Mapping[str, str]
    endpoint: str
    certificate: str
    signing_key: bytes
    encryption_kem: str
    encryption_key: bytes
    usable: bool

    @property
    def signing_fingerprint(self) -> str:
        return fingerprint(self.signing_key)

    @property
    def encryption_fingerprint(self) -> str:
        return fingerprint(self.encryption_key)

    @property
    def public_keys(self) -> NodePublicKeys:
        """The keys shares are sealed to, as ``kuorum seal`` fingerprints them."""
        return NodePublicKeys(
            ed25519.Ed25519PublicKey.from_public_bytes(self.signing_key),
            EncryptionPublicKey.from_bytes(self.encryption_key, kem=self.encryption_kem),
        )


def fingerprint(key: bytes) -> str:
    """Short hex SHA-256 of a public key, as pinned in the secret's status."""
    return hashlib.sha256(key).hexdigest()[:32]


def view(
    obj: Mapping[str, Any], *, now: datetime, grace: timedelta = HEARTBEAT_GRACE
) -> NodeView | None:
    """Read a ShareNode object; None when its spec is unusable (logged by the caller)."""
    try:
        node = ShareNode.from_object(obj)
    except ValueError:
        return None
    status = obj.get("status") or {}
    ready = is_ready(obj)
    heartbeat = status.get("lastHeartbeatTime")
    fresh = isinstance(heartbeat, str) and now - parse_time(heartbeat) <= grace
    spec = node.spec
    return NodeView(
        name=node.name,
        zone=spec.zone or "",
        labels=dict((obj.get("metadata") or {}).get("labels") or {}),
        endpoint=spec.endpoint,
        certificate=spec.tls_certificate,
        signing_key=spec.signing_key,
        encryption_kem=str(spec.encryption_key.kem),
        encryption_key=spec.encryption_key.public_key,
        usable=ready and fresh,
    )


def select(
    nodes: Iterable[NodeView],
    count: int,
    *,
    selector: LabelSelector | None,
    keep: Sequence[str] = (),
    exclude: Iterable[str] = (),
) -> list[NodeView] | None:
    """Choose ``count`` usable nodes, or None when too few are usable right now."""
    excluded = set(exclude)
    candidates = {
        n.name: n
        for n in nodes
        if n.usable and n.name not in excluded and (selector is None or selector.matches(n.labels))
    }
    if len(candidates) < count:
        return None
    chosen = [candidates.pop(name) for name in keep if name in candidates][:count]
    zones = Counter(n.zone for n in chosen)
    while len(chosen) < count:
        best = min(candidates.values(), key=lambda n: (zones[n.zone], n.name))
        chosen.append(candidates.pop(best.name))
        zones[best.zone] += 1
    return chosen
