"""Witness bookkeeping: which ShareNodes are peers, and key pinning on first sight."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from kuorum.envelope import NodeKeys
from kuorum.node.storage import Storage
from kuorum.node.tls import make_certificate
from kuorum.node.witness import Peer, peers_from, pin

CERTIFICATE = make_certificate("n", ["127.0.0.1"], now=datetime.datetime.now(datetime.UTC))[
    0
].decode()


def share_node(name: str, **spec: Any) -> dict[str, Any]:
    keys = NodeKeys.generate(kem="X25519").public().to_dict()
    return {
        "metadata": {"name": name},
        "spec": {
            "endpoint": f"https://{name}.example:8443/",
            "zone": "a",
            "tlsCertificate": CERTIFICATE,
            **keys,
            **spec,
        },
    }


def test_peers_are_valid_share_nodes_other_than_this_one() -> None:
    items = [
        share_node("node-a"),
        share_node("node-b"),
        share_node("broken", endpoint="http://plain.example"),
    ]
    peers = peers_from(items, "node-a")
    assert [peer.name for peer in peers] == ["node-b"]
    assert peers[0].endpoint == "https://node-b.example:8443"
    assert peers[0].signing_key == items[1]["spec"]["signingKey"]
    assert peers[0].origin == "kuorum.io/node/node-b"


def test_a_key_is_pinned_on_first_sight_and_a_different_one_refused(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "node.db")
    first = peers_from([share_node("node-b")], "node-a")[0]
    assert pin(storage, first)
    assert pin(storage, first)  # the same key again is fine
    rekeyed = Peer(
        first.name, first.endpoint, share_node("x")["spec"]["signingKey"], first.certificate
    )
    assert not pin(storage, rekeyed)
    pinned = storage.witnessed(first.origin)
    assert pinned is not None and pinned.verifier_key == first.signing_key
    assert pinned.size == 0
