"""How the operator plans a ``sealed`` source: which nodes, which version, or why it waits.

Pure: node views are built from key pairs of our own; the integration tests run the
same paths against real nodes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from nodekit import keyed_view, sealed_to

from kuorum.accessrule import AccessRule
from kuorum.envelope import NodeKeys
from kuorum.models import (
    Access,
    DecentralizedSecret,
    DecentralizedSecretSpec,
    LabelSelector,
    Reason,
    SecretStatus,
    SecretType,
    Source,
    Target,
)
from kuorum.operator.collect import Collected
from kuorum.operator.plan import Forward, Report, Wait, accepted_rules, forward, report
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


def report_for(secret: DecentralizedSecret, status: SecretStatus, collected: Collected) -> Report:
    return report(secret, status, views(), datetime(2026, 1, 1, tzinfo=UTC), collected)


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


# -- where a sealed secret may go is sealed with it

UID = "0b6c3a59-2f1e-4c8e-9a57-8d1f0e6a4b21"


def bound_secret(access: Access | None = None, uid: str | None = None) -> DecentralizedSecret:
    sealed = sealed_to(KEYS, 3, access=access, namespace_uid=uid)
    spec = DecentralizedSecretSpec(threshold=2, shares=3, source=Source(sealed=sealed))
    return DecentralizedSecret("ns", "db", replace(spec, access=access))


@pytest.mark.parametrize(
    "edit",
    [
        {"access": Access(namespaces=("attacker",))},
        {"target": Target(name="argocd-secret")},
        {"target": Target(type=SecretType.BASIC_AUTH)},
    ],
    ids=["access", "target-name", "target-type"],
)
def test_an_edited_target_or_access_is_refused_and_asks_for_a_re_seal(
    edit: dict[str, object],
) -> None:
    secret = bound_secret()
    edited = DecentralizedSecret("ns", "db", replace(secret.spec, **edit))  # type: ignore[arg-type]
    waiting = waits(edited, SecretStatus(), views())
    assert waiting.reason == Reason.INVALID_SPEC
    assert "with this spec.target and spec.access" in waiting.message
    assert "run kuorum seal again" in waiting.message


def test_the_same_access_written_in_another_order_is_the_same_rule() -> None:
    secret = bound_secret(Access(namespaces=("a", "b"), service_accounts=("x", "b:y")))
    reordered = Access(namespaces=("b", "a"), service_accounts=("b:y", "x"))
    same = DecentralizedSecret("ns", "db", replace(secret.spec, access=reordered))
    assert isinstance(plan(same, SecretStatus(), views()), Forward)


def test_a_sealed_source_for_a_re_created_namespace_is_refused() -> None:
    secret = bound_secret(uid=UID)
    assert secret.spec.source.sealed is not None
    other = "9d1f2c3b-0000-4000-8000-000000000000"
    refused = forward(secret, secret.spec.source.sealed, SecretStatus(), views(), None, other)
    assert isinstance(refused, Wait) and refused.reason == Reason.NAMESPACE_CHANGED
    assert UID in refused.message and other in refused.message
    accepted = forward(secret, secret.spec.source.sealed, SecretStatus(), views(), None, UID)
    assert isinstance(accepted, Forward)
    rule = AccessRule.of(secret, UID).digest()
    assert {body.rule for body in accepted.dealt.bodies.values()} == {rule}, "sent with its rule"


def test_a_committed_version_sealed_for_another_rule_is_reported_not_written() -> None:
    secret = bound_secret()
    committed = SecretStatus(version=3, commitments_digest="d" * 64)
    report = report_for(secret, committed, Collected(None, (), (), ("node-0", "node-1")))
    assert report.materialized is None and report.wait is not None
    assert report.wait.reason == Reason.RESEAL_REQUIRED
    ready = next(c for c in report.status.conditions or () if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "ResealRequired")
    assert "run kuorum seal again" in ready.message
    accepted = accepted_rules(secret, UID)
    assert accepted == {
        b"",
        AccessRule.of(secret, None).digest(),
        AccessRule.of(secret, UID).digest(),
    }
