"""The operator's decisions, made without a cluster: what to store, what to write, what to
report. Objects are parsed as the apiserver would return them; node views stand for
ShareNodes (keys are random bytes, except where a sealed source needs real ones)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nodekit import keyed_view, sealed_to

from kuorum.envelope import NodeKeys
from kuorum.models import (
    BadShare,
    Condition,
    ConditionStatus,
    Copy,
    DecentralizedSecret,
    DeliveryGrant,
    InvalidSpec,
    NodeState,
    NodeStatus,
    Reason,
    SecretStatus,
)
from kuorum.operator import plan
from kuorum.operator.collect import Collected
from kuorum.operator.dealing import Dealt
from kuorum.placement import NodeView

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
GENERATE = {"generate": {"keys": [{"name": "password"}]}}
DIGEST = "d" * 64


def secret(
    source: dict[str, Any] | None = None,
    *,
    generation: int = 1,
    name: str = "db",
    **spec: Any,
) -> DecentralizedSecret:
    body = {"threshold": 2, "shares": 3, "source": source or GENERATE, **spec}
    return DecentralizedSecret.from_object(
        {"metadata": {"namespace": "ns", "name": name, "generation": generation}, "spec": body}
    )


def node(name: str, zone: str = "z", *, usable: bool = True, key: bytes | None = None) -> NodeView:
    return NodeView(
        name=name,
        zone=zone,
        labels={},
        endpoint=f"https://{name}:8443",
        certificate="",
        signing_key=key or name.encode().ljust(32, b"s"),
        encryption_kem="X25519",
        encryption_key=name.encode().ljust(32, b"e"),
        usable=usable,
    )


def views(*nodes: NodeView) -> dict[str, NodeView]:
    return {n.name: n for n in nodes}


def pinned(*nodes: NodeView) -> tuple[NodeStatus, ...]:
    """status.nodes as a commit on these views leaves them."""
    return tuple(
        NodeStatus(n.name, i, NodeState.STORED, "", n.signing_fingerprint, n.encryption_fingerprint)
        for i, n in enumerate(nodes, start=1)
    )


THREE = (node("a"), node("b"), node("c"))
COMMITTED = SecretStatus(
    version=1, observed_generation=1, commitments_digest=DIGEST, nodes=pinned(*THREE)
)


def condition(status: SecretStatus, kind: str) -> Condition:
    (found,) = [c for c in status.conditions or () if c.type == kind]
    return found


def kinds(status: SecretStatus) -> set[str]:
    return {c.type for c in status.conditions or ()}


# distribution


def test_a_first_distribution_takes_n_usable_nodes_across_zones_as_version_1() -> None:
    nodes = views(
        node("a1", "a"),
        node("a2", "a"),
        node("b1", "b"),
        node("b2", "b"),
        node("c1", "c", usable=False),
        node("d1", "d"),
    )
    decided = plan.distribution(secret(), SecretStatus(), nodes, NOW)
    assert decided is not None and decided.abandon is None
    assert isinstance(decided.step, plan.Deal)
    assert decided.step.version == 1
    chosen = decided.step.nodes
    assert len(chosen) == 3 and all(n.usable for n in chosen)
    assert sorted(n.zone for n in chosen) == ["a", "b", "d"], "one per zone while zones last"


def test_too_few_usable_nodes_wait_and_say_how_many_are_needed() -> None:
    nodes = views(node("a"), node("b"), node("c", usable=False))
    decided = plan.distribution(secret(), SecretStatus(), nodes, NOW)
    assert decided is not None
    assert decided.step == plan.Wait(
        Reason.WAITING_FOR_NODES,
        "only 2 usable ShareNodes match, 3 are needed for a new version; the current "
        "version stays in use until enough nodes are Ready (kubectl get snode)",
    )
    report = plan.stalled(secret(), decided.status, decided.step, NOW)
    assert report.wait == decided.step
    distributed = condition(report.status, "Distributed")
    assert distributed.status == ConditionStatus.FALSE
    assert distributed.reason == "WaitingForNodes"
    assert condition(report.status, "Ready").reason == "WaitingForNodes", "nothing serves yet"
    assert "Degraded" not in kinds(report.status)


def test_waiting_for_a_new_version_leaves_ready_of_the_current_one_alone() -> None:
    ready = Condition("Ready", ConditionStatus.TRUE, "Committed", "ok", NOW - timedelta(1))
    status = replace(COMMITTED, conditions=(ready,))
    changed = secret(generation=2)
    decided = plan.distribution(changed, status, views(node("a")), NOW)
    assert decided is not None and isinstance(decided.step, plan.Wait)
    report = plan.stalled(changed, status, decided.step, NOW)
    assert condition(report.status, "Ready") == ready
    assert condition(report.status, "Distributed").observed_generation == 2


def test_an_invalid_spec_makes_ready_false_with_the_field_and_the_fix() -> None:
    with pytest.raises(InvalidSpec) as error:
        secret(threshold=4)
    status = plan.invalid(COMMITTED, error.value, 7, NOW)
    ready = condition(status, "Ready")
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "InvalidSpec")
    assert "spec.threshold" in ready.message and "DecentralizedSecret ns/db" in ready.message
    assert status.observed_generation == 7 and ready.observed_generation == 7
    assert status.version == 1, "the committed version is kept"


def test_a_pending_generated_version_is_abandoned_and_a_fresh_number_dealt() -> None:
    crashed = replace(COMMITTED, pending_version=2)
    decided = plan.distribution(secret(), crashed, views(*THREE), NOW)
    assert decided is not None
    assert decided.abandon == 2
    assert isinstance(decided.step, plan.Deal) and decided.step.version == 3
    assert [n.name for n in decided.step.nodes] == ["a", "b", "c"], "the current nodes stay"


KEYS = {f"node-{i}": NodeKeys.generate(kem="X25519") for i in range(3)}
SEALED_VIEWS = {n: keyed_view(n, k) for n, k in KEYS.items()}


def sealed_secret(version: int) -> DecentralizedSecret:
    return secret({"sealed": sealed_to(KEYS, version).to_dict()})


def test_a_pending_sealed_version_is_resumed_not_abandoned() -> None:
    sealed = sealed_secret(2)
    crashed = SecretStatus(version=1, commitments_digest=DIGEST, pending_version=2)
    decided = plan.distribution(sealed, crashed, SEALED_VIEWS, NOW)
    assert decided is not None and decided.abandon is None
    assert isinstance(decided.step, plan.Forward) and decided.step.dealt.version == 2


def test_a_sealed_source_rolled_back_to_the_committed_version_only_abandons() -> None:
    sealed = sealed_secret(2)
    assert sealed.spec.source.sealed is not None
    dealt = plan.forward(sealed, sealed.spec.source.sealed, SecretStatus(), SEALED_VIEWS)
    assert isinstance(dealt, plan.Forward)
    status = SecretStatus(
        version=2, commitments_digest=dealt.dealt.commitments_digest, pending_version=3
    )
    decided = plan.distribution(sealed, status, SEALED_VIEWS, NOW)
    assert decided is not None
    assert (decided.abandon, decided.step) == (3, None)
    assert decided.status.pending_version is None and decided.status.version == 2


def test_a_sealed_version_at_the_committed_one_is_invalid_and_names_the_fix() -> None:
    sealed = sealed_secret(1)
    status = SecretStatus(version=1, commitments_digest=DIGEST)
    decided = plan.distribution(sealed, status, SEALED_VIEWS, NOW)
    assert decided is not None and isinstance(decided.step, plan.Wait)
    report = plan.stalled(sealed, status, decided.step, NOW)
    distributed = condition(report.status, "Distributed")
    assert distributed.reason == "InvalidSpec" and "--version 2" in distributed.message
    assert kinds(report.status) == {"Distributed"}, "version 1 still serves"


def test_a_node_whose_keys_changed_is_degraded_and_left_out() -> None:
    replaced = node("b", key=b"k" * 32)
    nodes = views(THREE[0], replaced, THREE[2], node("d"))
    assert plan.key_changed(COMMITTED, nodes) == ["b"]
    decided = plan.distribution(secret(generation=2), COMMITTED, nodes, NOW)
    assert decided is not None and isinstance(decided.step, plan.Deal)
    assert [n.name for n in decided.step.nodes] == ["a", "c", "d"]
    step = plan.materialize(secret(), COMMITTED, nodes, {"ns": None})
    assert step is not None and [n.name for n in step.sources] == ["a", "c"]
    report = plan.report(secret(), COMMITTED, nodes, NOW, Collected({"k": b"v"}, (), ()))
    degraded = condition(report.status, "Degraded")
    assert (degraded.status, degraded.reason) == (ConditionStatus.TRUE, "NodeKeyChanged")
    assert "share nodes b now publish keys" in degraded.message
    states = {n.name: n.state for n in report.status.nodes or ()}
    assert states == {"a": "Stored", "b": "KeyChanged", "c": "Stored"}
    assert report.status.shares_reachable == 2
    assert not report.retire, "version 1 has no older version to destroy"


def test_a_sealed_node_with_new_keys_is_degraded_and_ready_false_before_any_version() -> None:
    sealed = sealed_secret(1)
    other = NodeKeys.generate(kem="X25519").public().signing.public_bytes_raw()
    nodes = SEALED_VIEWS | {"node-1": replace(SEALED_VIEWS["node-1"], signing_key=other)}
    decided = plan.distribution(sealed, SecretStatus(), nodes, NOW)
    assert decided is not None and isinstance(decided.step, plan.Wait)
    report = plan.stalled(sealed, SecretStatus(), decided.step, NOW)
    assert {(c.type, c.status, c.reason) for c in report.status.conditions or ()} == {
        ("Degraded", "True", "NodeKeyChanged"),
        ("Distributed", "False", "NodeKeyChanged"),
        ("Ready", "False", "NodeKeyChanged"),
    }
    assert "node-1" in condition(report.status, "Degraded").message


def test_rotation_is_due_by_the_interval_and_the_commit_sets_the_next_one() -> None:
    rotating = secret(rotation={"interval": "1h"})
    status = replace(COMMITTED, next_rotation_time=NOW)
    assert plan.distribution(rotating, status, views(*THREE), NOW - timedelta(seconds=1)) is None
    decided = plan.distribution(rotating, status, views(*THREE), NOW)
    assert decided is not None and isinstance(decided.step, plan.Deal)
    assert decided.step.version == 2
    dealt = Dealt(2, {}, {"a": 1, "b": 2, "c": 3}, "f" * 64)
    done = plan.commit(rotating, status, plan.Forward(decided.step.nodes, dealt), NOW)
    assert done.status.next_rotation_time == NOW + timedelta(hours=1)
    assert done.rotated and done.event.reason == "Rotated"
    assert done.event.message == "version 2 committed on every chosen node; version 1 retired"


def test_nothing_is_distributed_while_the_committed_version_is_current() -> None:
    assert plan.distribution(secret(), COMMITTED, views(*THREE), NOW) is None
    assert plan.distribution(secret(generation=2), COMMITTED, views(*THREE), NOW) is not None


def test_a_commit_pins_the_keys_clears_pending_and_deletes_an_imported_source() -> None:
    imported = secret({"fromSecret": {"name": "legacy", "deleteAfterImport": True}})
    pending = SecretStatus(pending_version=1)
    dealt = Dealt(1, {}, {"a": 3, "b": 1, "c": 2}, "f" * 64)
    done = plan.commit(imported, pending, plan.Forward(THREE, dealt), NOW)
    assert done.status.version == 1 and done.status.pending_version is None
    assert done.status.commitments_digest == "f" * 64
    assert done.status.next_rotation_time is None
    assert [(n.name, n.index) for n in done.status.nodes or ()] == [("a", 3), ("b", 1), ("c", 2)]
    assert done.status.nodes == tuple(
        replace(p, index=i) for p, i in zip(pinned(*THREE), (3, 1, 2), strict=True)
    )
    assert (done.rotated, done.event.reason, done.delete_source) == (False, "Distributed", "legacy")
    assert plan.merge_patch(pending, done.status)["pendingVersion"] is None
    kept = secret({"fromSecret": {"name": "legacy"}})
    assert plan.commit(kept, pending, plan.Forward(THREE, dealt), NOW).delete_source is None


def test_a_commit_records_the_copies_it_is_about_to_write_and_keeps_the_others() -> None:
    shared = secret(access={"namespaces": ["web"]})
    pending = SecretStatus(pending_version=2, copies=(Copy("old", "db"),))
    dealt = Dealt(2, {}, {"a": 3, "b": 1, "c": 2}, "f" * 64)
    done = plan.commit(shared, pending, plan.Forward(THREE, dealt), NOW, writes=["ns", "web"])
    assert done.status.copies == (Copy("ns", "db"), Copy("old", "db"), Copy("web", "db")), (
        "a stale copy stays recorded until it is deleted"
    )
    quiet = plan.commit(secret(), SecretStatus(pending_version=1), plan.Forward(THREE, dealt), NOW)
    assert quiet.status.copies is None


def test_a_failed_store_says_which_nodes_and_touches_only_distributed() -> None:
    report = plan.store_failed(secret(), COMMITTED, 2, ["b", "c"], NOW)
    assert report.wait is not None and report.wait.reason == Reason.DISTRIBUTING
    assert kinds(report.status) == {"Distributed"}
    assert condition(report.status, "Distributed").message.startswith(
        "version 2 was not stored on every chosen node (b, c)"
    )


def test_a_missing_source_secret_is_named() -> None:
    wait = plan.source_missing(secret({"fromSecret": {"name": "nowhere"}}))
    assert wait.reason == Reason.SOURCE_NOT_FOUND and "Secret ns/nowhere" in wait.message


# materialization and health


def test_only_stale_target_namespaces_are_written() -> None:
    shared = secret(access={"namespaces": ["ns", "apps", "web"]})
    assert plan.targets(shared) == ("ns", "apps", "web")
    current = {"ns": 1, "apps": 1, "web": 1}
    assert plan.materialize(shared, COMMITTED, views(*THREE), current) is None
    step = plan.materialize(shared, COMMITTED, views(*THREE), current | {"apps": None, "web": 2})
    assert step is not None and step.namespaces == ("apps", "web")
    assert [n.name for n in step.sources] == ["a", "b", "c"]


def test_a_foreign_secret_of_the_target_name_is_never_written_and_ready_says_why() -> None:
    shared = secret(access={"namespaces": ["ns", "argocd"]})
    versions = {"ns": None, "argocd": None}
    step = plan.materialize(shared, COMMITTED, views(*THREE), versions, conflicts=["argocd"])
    assert step is not None and step.namespaces == ("ns",)
    refused = plan.refusals(shared, plan.Delivery(("ns", "argocd")), ["argocd"])
    report = plan.report(
        shared, COMMITTED, views(*THREE), NOW, Collected({"k": b"v"}, (), ()), refused=refused
    )
    ready = condition(report.status, "Ready")
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "TargetConflict")
    assert "argocd/" in ready.message and "spec.target.name" in ready.message
    assert report.wait is not None and report.wait.reason == "TargetConflict"
    assert report.materialized is not None, "the namespaces that are ours are still served"


def test_too_few_shares_make_ready_false_and_degraded_names_the_nodes() -> None:
    nodes = views(THREE[0], node("b", usable=False), node("c", usable=False))
    step = plan.materialize(secret(), COMMITTED, nodes, {"ns": None})
    assert step is not None and [n.name for n in step.sources] == ["a"]
    report = plan.report(secret(), COMMITTED, nodes, NOW, Collected(None, (), ()))
    assert report.wait is not None and report.wait.reason == Reason.NODES_UNREACHABLE
    ready, degraded = condition(report.status, "Ready"), condition(report.status, "Degraded")
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "NodesUnreachable")
    assert (degraded.status, degraded.reason) == (ConditionStatus.TRUE, "NodesUnreachable")
    assert "(not answering or bad: b, c)" in degraded.message
    assert "Distributed" not in kinds(report.status)
    assert report.status.shares_reachable == 1 and report.status.last_collection_time is None
    states = {n.name: n.state for n in report.status.nodes or ()}
    assert states == {"a": "Stored", "b": "Unreachable", "c": "Unreachable"}
    assert report.events == () and report.materialized is None and not report.retire


def test_a_healthy_materialization_is_ready_committed_and_not_degraded() -> None:
    status = replace(COMMITTED, version=2)
    report = plan.report(secret(), status, views(*THREE), NOW, Collected({"k": b"v"}, (), ()))
    assert report.wait is None and report.retire, "version 1 may now be destroyed"
    found = {(c.type, c.status, c.reason) for c in report.status.conditions or ()}
    assert found == {
        ("Ready", "True", "Committed"),
        ("Distributed", "True", "Committed"),
        ("Degraded", "False", "Committed"),
    }
    assert condition(report.status, "Ready").message == "Secret db holds version 2"
    assert report.status.last_collection_time == NOW and report.status.shares_reachable == 3
    assert report.events == ()
    assert report.materialized == plan.Event(
        "Normal", "Materialized", "Secret db written with version 2"
    )


def test_a_current_target_is_reported_without_a_collection() -> None:
    nodes = views(*THREE[:2], node("c", usable=False))
    report = plan.report(secret(), COMMITTED, nodes, NOW, None)
    assert report.events == () and report.materialized is None
    assert not report.retire and report.wait is None
    degraded = condition(report.status, "Degraded")
    assert degraded.reason == "NodesUnreachable"
    assert degraded.message == (
        "share nodes c are not reachable: 2 of 3 shares reachable, 2 needed"
    )
    assert condition(report.status, "Ready").status == ConditionStatus.TRUE
    assert report.status.last_collection_time is None


def test_bad_shares_are_named_and_only_the_latest_ten_kept() -> None:
    old = tuple(BadShare("x", 1, NOW - timedelta(minutes=m)) for m in range(9, 0, -1))
    status = replace(COMMITTED, bad_shares=old)
    collected = Collected({"k": b"v"}, ("b", "c"), ())
    report = plan.report(secret(), status, views(*THREE), NOW, collected)
    recorded = report.status.bad_shares or ()
    assert len(recorded) == 10
    assert recorded[:8] == old[1:], "the oldest entry is dropped"
    assert recorded[8:] == (BadShare("b", 1, NOW), BadShare("c", 1, NOW))
    assert [e.reason for e in report.events] == ["BadShare", "BadShare"]
    assert report.materialized is not None, "the honest shares still opened it"
    assert "share node b returned a share of version 1" in report.events[0].message
    states = {n.name: n.state for n in report.status.nodes or ()}
    assert states == {"a": "Stored", "b": "BadShare", "c": "BadShare"}
    assert condition(report.status, "Ready").status == ConditionStatus.TRUE


def test_a_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    first = plan.report(secret(), COMMITTED, views(*THREE), NOW, None).status
    later = NOW + timedelta(minutes=5)
    again = plan.report(secret(), first, views(*THREE), later, None).status
    assert condition(again, "Ready").last_transition_time == NOW
    assert plan.merge_patch(first, again) == {}, "nothing changed: nothing to write"


def test_the_merge_patch_holds_changes_and_deletes_fields_that_went_away() -> None:
    before = replace(COMMITTED, pending_version=2, shares_reachable=3)
    after = replace(before, pending_version=None, shares_reachable=2)
    assert plan.merge_patch(before, after) == {"pendingVersion": None, "sharesReachable": 2}


def test_a_sealed_source_from_an_untrusted_sealer_is_not_forwarded() -> None:
    sealed = sealed_secret(2)
    source = sealed.spec.source.sealed
    assert source is not None
    decided = plan.distribution(sealed, SecretStatus(), SEALED_VIEWS, NOW, sealers=frozenset())
    assert decided is not None and isinstance(decided.step, plan.Wait)
    assert decided.step.reason == "UntrustedSealer"
    assert "--trusted-sealer" in decided.step.message
    trusted = frozenset({source.sealer})
    decided = plan.distribution(sealed, SecretStatus(), SEALED_VIEWS, NOW, sealers=trusted)
    assert decided is not None and isinstance(decided.step, plan.Forward)


# -- delivery into other namespaces: granted there, never into system namespaces


def grant(namespace: str, *senders: dict[str, str]) -> DeliveryGrant:
    return DeliveryGrant.from_object(
        {"metadata": {"namespace": namespace, "name": "g"}, "spec": {"from": list(senders)}}
    )


def test_another_namespace_receives_only_with_a_grant_that_names_the_secret() -> None:
    shared = secret(access={"namespaces": ["web", "apps", "batch", "kube-system", "kuorum"]})
    grants = {
        "web": [grant("web", {"namespace": "ns"})],  # any secret of ns
        "apps": [grant("apps", {"namespace": "ns", "name": "other"})],  # another secret
        "batch": [grant("batch", {"namespace": "elsewhere"})],
        "kube-system": [grant("kube-system", {"namespace": "ns"})],  # never, grant or not
    }
    found = plan.delivery(shared, grants, {"kube-system", "kuorum"})
    assert found == plan.Delivery(("ns", "web"), ("apps", "batch"), ("kube-system", "kuorum"))
    reasons = [w.reason for w in plan.refusals(shared, found, [])]
    assert reasons == [Reason.FORBIDDEN_NAMESPACE, Reason.NOT_GRANTED]
    (_, missing) = plan.refusals(shared, found, [])
    assert "apps, batch" in missing.message and "kubectl explain deliverygrant" in missing.message
    assert "{namespace: ns, name: db}" in missing.message


def test_copies_no_longer_allowed_are_deleted_and_only_those() -> None:
    shared = secret(access={"namespaces": ["web", "apps"]})
    status = replace(COMMITTED, copies=(Copy("ns", "db"), Copy("old", "db"), Copy("web", "db")))
    stale, kept = plan.copies(shared, status, ["ns", "web"], owned=["ns"])
    assert stale == (Copy("old", "db"),)
    assert kept == (Copy("ns", "db"), Copy("web", "db"))
    renamed = secret(access={"namespaces": ["web"]}, target={"name": "db-v2"})
    stale, kept = plan.copies(renamed, status, ["ns", "web"], owned=[])
    assert stale == (Copy("ns", "db"), Copy("old", "db"), Copy("web", "db")), "renamed: all go"
    assert kept == ()
    _, found = plan.copies(shared, SecretStatus(), ["ns", "web"], owned=["web"])
    assert found == (Copy("web", "db"),), "a copy made before copies were recorded is adopted"
    assert plan.recorded(status, shared, ["apps"]).copies == (
        Copy("apps", "db"),
        Copy("ns", "db"),
        Copy("old", "db"),
        Copy("web", "db"),
    )


def test_what_a_pass_committed_and_wrote_is_told_in_one_event() -> None:
    committed = plan.Event("Normal", "Rotated", "version 2 committed")
    written = plan.Event("Normal", "Materialized", "Secret db written with version 2")
    assert plan.told([committed, written]) == plan.Event(
        "Normal", "Rotated", "version 2 committed; Secret db written with version 2"
    )
    assert plan.told([written]) == written
