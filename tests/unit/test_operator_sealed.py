"""How the operator plans a ``sealed`` source: which nodes, which version, or why it waits.

Pure: node views are built from key pairs of our own; the integration tests run the
same paths against real nodes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from nodekit import keyed_view, sealed_to

from kuorum.envelope import NodeKeys
from kuorum.models import (
    DecentralizedSecret,
    DecentralizedSecretSpec,
    LabelSelector,
    Reason,
    SecretStatus,
    Source,
)
from kuorum.operator.plan import Forward, Wait, forward
from kuorum.placement import NodeView

KEYS = {f"node-{i}": NodeKeys.generate(kem="X25519") for i in range(3)}


def sealed_secret(version: int = 3) -> DecentralizedSecret:
    sealed = sealed_to(KEYS, version)
    return DecentralizedSecret(
        "ns", "db", DecentralizedSecretSpec(threshold=2, shares=3, source=Source(sealed=sealed))
    )


def views(replaced: dict[str, NodeView] | None = None) -> dict[str, NodeView]:
    """Every node as sealed to, Ready, except the views in ``replaced``."""
    return {n: keyed_view(n, k) for n, k in KEYS.items()} | (replaced or {})


def plan(
    secret: DecentralizedSecret, status: SecretStatus, nodes: dict[str, NodeView]
) -> Forward | Wait:
    assert secret.spec.source.sealed is not None
    return forward(secret, secret.spec.source.sealed, status, nodes)


def waits(secret: DecentralizedSecret, status: SecretStatus, nodes: dict[str, NodeView]) -> Wait:
    decision = plan(secret, status, nodes)
    assert isinstance(decision, Wait), decision
    return decision


def test_the_sealed_version_goes_to_exactly_its_nodes_unopened() -> None:
    secret = sealed_secret()
    decision = plan(secret, SecretStatus(), views())
    assert isinstance(decision, Forward)
    dealt = decision.dealt
    assert [v.name for v in decision.nodes] == list(KEYS)
    assert dealt.version == 3 and dealt.indexes == {"node-0": 1, "node-1": 2, "node-2": 3}
    assert {b.threshold for b in dealt.bodies.values()} == {2}


@pytest.mark.parametrize(
    ("status", "nodes", "reason", "text"),
    [
        (SecretStatus(version=3), None, Reason.INVALID_SPEC, "--version 4"),
        (SecretStatus(version=5), None, Reason.INVALID_SPEC, "--version 6"),
        (
            SecretStatus(),
            {"node-1": keyed_view("node-1", NodeKeys.generate(kem="X25519"))},
            Reason.NODE_KEY_CHANGED,
            "node-1: sealed to keys",
        ),
        (
            SecretStatus(),
            {"node-2": keyed_view("node-2", KEYS["node-2"], usable=False)},
            Reason.WAITING_FOR_NODES,
            "ShareNodes node-2, which are not Ready",
        ),
    ],
    ids=["same-version", "older-version", "key-changed", "node-down"],
)
def test_the_operator_waits_and_says_why(
    status: SecretStatus, nodes: dict[str, NodeView] | None, reason: str, text: str
) -> None:
    waiting = waits(sealed_secret(), status, views(nodes))
    assert waiting.reason == reason
    assert text in waiting.message


def test_sealed_nodes_outside_the_node_selector_are_refused() -> None:
    secret = sealed_secret()
    picky = DecentralizedSecret(
        "ns", "db", replace(secret.spec, node_selector=LabelSelector({"tier": "gold"}))
    )
    gold = {n: replace(v, labels={"tier": "gold"}) for n, v in views().items() if n != "node-1"}
    waiting = waits(picky, SecretStatus(), views(gold))
    assert waiting.reason == Reason.INVALID_SPEC
    assert "ShareNodes node-1, which spec.nodeSelector excludes" in waiting.message


def test_a_manifest_copied_to_another_name_is_refused_before_anything_is_sent() -> None:
    original = sealed_secret()
    copied = DecentralizedSecret("ns", "other", original.spec)
    waiting = waits(copied, SecretStatus(), views())
    assert waiting.reason == Reason.INVALID_SPEC
    assert "not sealed for ns/other version 3" in waiting.message
