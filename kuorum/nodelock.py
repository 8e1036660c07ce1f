"""Pin files for the share nodes: what ``kuorum seal`` and ``kuorum ledger verify`` trust.

ShareNodes are objects in the cluster; whoever can write one could make ``kuorum seal``
encrypt to a key of theirs or ``ledger verify`` accept a rewritten log. A lock file
(``kuorum nodes lock > nodes.lock``), reviewed and committed beside the sealed
manifests, names every trusted node with the SHA-256 of its signing key, encryption key
and TLS certificate; ``--nodes-lock`` then refuses, naming the node and the key, any
ShareNode that is not in it or differs from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from kuorum import b64, names
from kuorum.errors import UserError

KIND = "NodesLock"
FIELDS = ("signingKey", "encryptionKey", "tlsCertificate")
"""The pinned spec fields of a ShareNode (the ones its CRD keeps immutable)."""

Pins = Mapping[str, Mapping[str, str]]
"""Node name -> pinned field -> ``sha256:<hex>``."""


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def pins_of(share_node: Mapping[str, Any]) -> dict[str, str]:
    """The pins of one ShareNode object (raw key bytes and certificate PEM, hashed)."""
    spec = share_node.get("spec") or {}
    encryption = spec.get("encryptionKey") or {}
    raw = {
        "signingKey": b64.decode(str(spec.get("signingKey", "")), "spec.signingKey", UserError),
        "encryptionKey": f"{encryption.get('kem')}:".encode()
        + b64.decode(str(encryption.get("publicKey", "")), "spec.encryptionKey", UserError),
        "tlsCertificate": str(spec.get("tlsCertificate", "")).encode(),
    }
    return {field: _digest(raw[field]) for field in FIELDS}


def render(share_nodes: Iterable[Mapping[str, Any]]) -> str:
    """The lock file for these ShareNodes (YAML, sorted, stable under re-runs)."""
    nodes = {obj["metadata"]["name"]: pins_of(obj) for obj in share_nodes}
    document = {"apiVersion": names.API_VERSION, "kind": KIND, "nodes": dict(sorted(nodes.items()))}
    return yaml.safe_dump(document, sort_keys=False)


def load(path: Path) -> Pins:
    """Read a lock file; a clear error names the file and what is wrong with it."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"--nodes-lock {path}: cannot read it ({error})") from None
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("kind") != KIND
        or not isinstance(nodes, dict)
    ):
        raise UserError(
            f"--nodes-lock {path}: not a {KIND} file; write one with 'kuorum nodes lock'"
        )
    for name, pins in nodes.items():
        if not isinstance(pins, dict) or set(pins) != set(FIELDS):
            raise UserError(
                f"--nodes-lock {path}: node {name} must pin exactly {', '.join(FIELDS)}"
            )
    return nodes


def mismatches(pins: Pins, share_node: Mapping[str, Any]) -> list[str]:
    """What about this ShareNode the lock does not vouch for (empty: it matches)."""
    name = (share_node.get("metadata") or {}).get("name")
    locked = pins.get(str(name))
    if locked is None:
        return [
            f"ShareNode {name} is not in the nodes lock: if you trust it, run "
            "'kuorum nodes lock' again and review the change"
        ]
    live = pins_of(share_node)
    return [
        f"ShareNode {name} has another spec.{field} than the nodes lock pins "
        f"({live[field]}, locked {locked[field]}): it was re-keyed or replaced"
        for field in FIELDS
        if live[field] != locked[field]
    ]
