"""The operator deals to and collects from admitted ShareNodes only (``--admit-nodes``),
and only while they show the keys it pinned when it first admitted them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from kuorum import names
from kuorum.envelope import NodeKeys
from kuorum.operator.handlers import _views
from kuorum.operator.pins import NodePins
from kuorum.operator.reconcile import utcnow
from kuorum.operator.settings import OperatorSettings

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def share_node(name: str) -> dict[str, Any]:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {"type": "Ready", "status": "True", "reason": "Serving", "message": "m"}
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": name},
        "spec": {
            "endpoint": f"https://{name}:8443",
            "tlsCertificate": PEM,
            **NodeKeys.generate(kem="X25519").public().to_dict(),
        },
        "status": {"conditions": [{**ready, "lastTransitionTime": now}], "lastHeartbeatTime": now},
    }


def settings(admitted: frozenset[str] | None) -> OperatorSettings:
    return OperatorSettings(
        api=cast(Any, None),
        namespace="kuorum-system",
        service_account="kuorum-operator",
        interval=10,
        resync=300,
        heartbeat_grace=timedelta(seconds=45),
        admitted_nodes=admitted,
    )


def test_only_admitted_sharenodes_are_seen() -> None:
    index = {n: [share_node(n)] for n in ("kuorum-node-0", "kuorum-node-1", "fake-in-zone-x")}
    admitted = frozenset({"kuorum-node-0", "kuorum-node-1"})
    seen = _views(cast(Any, index), settings(admitted), pins())
    assert sorted(seen) == ["kuorum-node-0", "kuorum-node-1"]
    assert all(v.usable for v in seen.values())
    assert sorted(_views(cast(Any, index), settings(None), pins())) == sorted(index)


def pins() -> NodePins:
    return NodePins(cast(Any, None), "kuorum-system")


def test_a_node_whose_keys_differ_from_its_first_pins_counts_as_down() -> None:
    kept = pins()
    first = share_node("kuorum-node-0")
    assert kept.trusted(first)
    assert _views(cast(Any, {"kuorum-node-0": [first]}), settings(None), kept)[
        "kuorum-node-0"
    ].usable
    rekeyed = share_node("kuorum-node-0")  # deleted and created again with other keys
    seen = _views(cast(Any, {"kuorum-node-0": [rekeyed]}), settings(None), kept)
    assert seen["kuorum-node-0"].usable is False
    assert kept.trusted(first), "the pinned keys stay trusted"
