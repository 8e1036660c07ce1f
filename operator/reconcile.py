"""Bring one DecentralizedSecret to its wanted state: a committed version, materialized.

Two phases, so a crash at any point leaves no half state:

1. *Distribute.* The next version number is written to ``status.pendingVersion``
   before any share leaves. Only when every chosen node has stored its share does
   ``status.version`` move to it, together with the chosen nodes and the fingerprints
   of the keys pinned for them. A pending version found later (after a crash or a
   failed store) is abandoned (destroyed where reachable) and a fresh number is dealt.
2. *Materialize.* t valid shares of ``status.version`` rebuild the data key, which opens
   the payload; the target Secret is written with the version in an annotation.

The previous version stays on the nodes, and in the target Secret, until the new one is
committed; then its shares are destroyed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import names, sealing, sharing
from kuorum.models import (
    Condition,
    ConditionStatus,
    ConditionType,
    DecentralizedSecret,
    InvalidSpec,
    NodeState,
    NodeStatus,
    Reason,
    Sealed,
    SecretStatus,
    format_time,
    set_condition,
)
from kuorum.operator import dealing, messages
from kuorum.operator.collect import Source, collect
from kuorum.operator.kubeio import SOURCE_LABEL, KubeIO
from kuorum.operator.metrics import METRICS
from kuorum.operator.nodeclient import NodeError
from kuorum.placement import NodeView, select

logger = logging.getLogger(__name__)


class Retry(Exception):
    """Not done yet (nodes down, source missing): try again after ``delay`` seconds."""

    def __init__(
        self, message: str, delay: float = 10.0, reason: str = Reason.DISTRIBUTING
    ) -> None:
        super().__init__(message)
        self.delay = delay
        self.reason = reason


@dataclass
class Operator:
    """Everything a reconciliation needs, shared by all objects."""

    kube: KubeIO
    client_for: Any
    """``client_for(view: NodeView) -> NodeClient``."""
    identity: str
    """How the nodes see us: the release context's recipient."""
    dealer: ed25519.Ed25519PrivateKey = field(repr=False)
    events: Any
    """``events(body, type, reason, message)``: posts a Kubernetes Event."""


@dataclass
class Outcome:
    """What one reconciliation found, for status and the next timer tick."""

    status: SecretStatus
    materialized: int | None


async def reconcile(
    op: Operator, body: Mapping[str, Any], views: Mapping[str, NodeView], *, now: datetime
) -> bool:
    """One pass over one object: distribute if due, materialize if stale, report health.

    Returns whether the object is Ready; raises :class:`Retry` when it must wait.
    """
    metadata = body["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    status = SecretStatus.from_dict(body.get("status") or {})
    try:
        secret = DecentralizedSecret.from_object(body)
    except InvalidSpec as error:
        conditions = set_condition(
            status.conditions or (),
            _condition(ConditionType.READY, False, Reason.INVALID_SPEC, str(error), now, metadata),
        )
        await op.kube.patch_status(
            namespace,
            name,
            {
                "conditions": [c.to_dict() for c in conditions],
                "observedGeneration": metadata.get("generation"),
            },
        )
        return False
    if _distribution_due(secret, status, now):
        status = await _distribute(op, body, secret, status, views, now)
    await _materialize(op, body, secret, status, views, now)
    return True


def _distribution_due(secret: DecentralizedSecret, status: SecretStatus, now: datetime) -> bool:
    if status.version is None or status.pending_version is not None:
        return True
    sealed = secret.spec.source.sealed
    if sealed is not None:  # sealed values change only with a new sealed version
        return _sealed_changed(sealed, status)
    if status.observed_generation != secret.generation:
        return True
    return bool(status.next_rotation_time and status.next_rotation_time <= now)


async def _distribute(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
) -> SecretStatus:
    """Store a new version on every chosen node, then commit it."""
    spec, namespace, name = secret.spec, secret.namespace, secret.name
    sealed = spec.source.sealed
    resumed = sealed is not None and status.pending_version == sealed.version
    if status.pending_version is not None and not resumed:
        await _abandon(op, secret, status, views)
        if sealed is not None and not _sealed_changed(sealed, status):  # rolled back
            await op.kube.patch_status(namespace, name, {"pendingVersion": None})
            return replace(status, pending_version=None)
    try:
        if sealed is not None:
            chosen, dealt = _forward(secret, sealed, status, views)
        else:
            chosen, dealt = await _deal(op, secret, status, views)
    except Retry as stalled:
        updates = [(ConditionType.DISTRIBUTED, False, stalled.reason, str(stalled))]
        if stalled.reason == Reason.NODE_KEY_CHANGED:
            updates.append((ConditionType.DEGRADED, True, stalled.reason, str(stalled)))
        if status.version is None:
            updates.append((ConditionType.READY, False, stalled.reason, str(stalled)))
        await _set_conditions(op, body, status, now, updates)
        raise
    version = dealt.version
    await op.kube.patch_status(namespace, name, {"pendingVersion": version})
    results = await asyncio.gather(
        *(op.client_for(v).store(namespace, name, version, dealt.bodies[v.name]) for v in chosen),
        return_exceptions=True,
    )
    failed = [
        (v.name, r) for v, r in zip(chosen, results, strict=True) if isinstance(r, BaseException)
    ]
    for node, error in failed:
        METRICS.node_errors.labels(node=node, kind=getattr(error, "kind", "other")).inc()
    if failed:
        detail = "; ".join(str(e) for _, e in failed)[:512]
        message = messages.STORE_FAILED.format(
            version=version, nodes=", ".join(n for n, _ in failed)
        )
        logger.warning("%s/%s: %s: %s", namespace, name, message, detail)
        await _set_conditions(
            op,
            body,
            status,
            now,
            [(ConditionType.DISTRIBUTED, False, Reason.DISTRIBUTING, message)],
        )
        raise Retry(message)
    previous = status.version
    rotation = secret.spec.rotation
    committed = replace(
        status,
        version=version,
        pending_version=None,
        observed_generation=secret.generation,
        commitments_digest=dealt.commitments_digest,
        next_rotation_time=(now + rotation.interval) if rotation and spec.source.generate else None,
        nodes=tuple(
            NodeStatus(
                v.name,
                dealt.indexes[v.name],
                NodeState.STORED,
                "",
                v.signing_fingerprint,
                v.encryption_fingerprint,
            )
            for v in chosen
        ),
    )
    patch = committed.to_dict()
    patch["pendingVersion"] = None
    patch["nextRotationTime"] = patch.get("nextRotationTime")
    await op.kube.patch_status(namespace, name, patch)
    imported = spec.source.from_secret
    if imported is not None and imported.delete_after_import:  # only once committed
        await op.kube.delete_secret(namespace, imported.name)
    if previous is not None:
        METRICS.rotations.inc()
        op.events(body, "Normal", "Rotated", messages.ROTATED.format(old=previous, new=version))
    else:
        op.events(
            body,
            "Normal",
            "Distributed",
            messages.DISTRIBUTED.format(
                version=version, shares=spec.shares, threshold=spec.threshold
            ),
        )
    return committed


async def _deal(
    op: Operator, secret: DecentralizedSecret, status: SecretStatus, views: Mapping[str, NodeView]
) -> tuple[list[NodeView], dealing.Dealt]:
    """Choose n Ready nodes and seal a fresh version of generated or imported values."""
    spec = secret.spec
    current = [n.name for n in status.nodes or ()]
    changed = _key_changed(status, views)
    chosen = select(
        views.values(), spec.shares, selector=spec.node_selector, keep=current, exclude=changed
    )
    if chosen is None:
        usable = sum(1 for v in views.values() if v.usable and v.name not in changed)
        raise Retry(
            messages.WAITING_FOR_NODES.format(usable=usable, shares=spec.shares),
            reason=Reason.WAITING_FOR_NODES,
        )
    data = await _payload(op, secret)
    dealt = await asyncio.to_thread(
        dealing.deal,
        data,
        namespace=secret.namespace,
        name=secret.name,
        version=status.next_version,
        threshold=spec.threshold,
        nodes=chosen,
        dealer=op.dealer,
    )
    return chosen, dealt


def _forward(
    secret: DecentralizedSecret,
    sealed: Sealed,
    status: SecretStatus,
    views: Mapping[str, NodeView],
) -> tuple[list[NodeView], dealing.Dealt]:
    """Check a sealed source against the nodes it was sealed to, and forward it unopened."""
    committed = status.version or 0
    if sealed.version <= committed:
        raise Retry(
            messages.SEALED_VERSION_USED.format(
                version=sealed.version, committed=committed, next=committed + 1
            ),
            reason=Reason.INVALID_SPEC,
        )
    keys = {s.node: views[s.node].public_keys for s in sealed.shares if s.node in views}
    misfit = sealing.misfits(sealed, namespace=secret.namespace, name=secret.name, keys=keys)
    if misfit:
        raise Retry(
            messages.SEALED_MISFIT.format(
                details="; ".join(f"{m.node}: {m.detail}" for m in misfit)
            ),
            reason=Reason.NODE_KEY_CHANGED
            if any(m.key_changed for m in misfit)
            else Reason.INVALID_SPEC,
        )
    selector = secret.spec.node_selector
    excluded = [
        s.node
        for s in sealed.shares
        if selector is not None and s.node in views and not selector.matches(views[s.node].labels)
    ]
    if excluded:
        raise Retry(
            messages.SEALED_EXCLUDED.format(nodes=", ".join(excluded)), reason=Reason.INVALID_SPEC
        )
    down = [s.node for s in sealed.shares if not (s.node in views and views[s.node].usable)]
    if down:
        raise Retry(
            messages.SEALED_NODES_DOWN.format(nodes=", ".join(down), version=sealed.version),
            reason=Reason.WAITING_FOR_NODES,
        )
    chosen = [views[s.node] for s in sealed.shares]
    return chosen, dealing.forward_sealed(sealed, threshold=secret.spec.threshold)


def _sealed_changed(sealed: Sealed, status: SecretStatus) -> bool:
    """Whether the sealed source is not the committed version (a new version to store)."""
    if sealed.version != status.version:
        return True
    digest = sharing.Commitments.from_bytes(sealed.commitments).digest()
    return digest != status.commitments_digest


async def _payload(op: Operator, secret: DecentralizedSecret) -> dict[str, bytes]:
    """The values of a generate or fromSecret source (a sealed source is never opened)."""
    source = secret.spec.source
    if source.generate is not None:
        return dealing.generate_values(source.generate)
    imported = source.from_secret
    assert imported is not None, "sealed sources are forwarded, not dealt"
    data = await op.kube.read_secret_data(secret.namespace, imported.name)
    if data is None:
        raise Retry(
            messages.SOURCE_NOT_FOUND.format(namespace=secret.namespace, name=imported.name),
            reason=Reason.SOURCE_NOT_FOUND,
        )
    return data


async def _abandon(
    op: Operator, secret: DecentralizedSecret, status: SecretStatus, views: Mapping[str, NodeView]
) -> None:
    """Destroy what an unfinished attempt stored (best effort: it was never committed)."""
    if status.pending_version is None:
        return
    version = status.pending_version
    for view in views.values():
        if view.usable:
            try:
                await op.client_for(view).destroy(secret.namespace, secret.name, version)
            except NodeError as error:
                logger.info(
                    "%s/%s: abandoned version %d stays on %s for now: %s",
                    secret.namespace,
                    secret.name,
                    version,
                    view.name,
                    error,
                )


async def _materialize(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
) -> None:
    """Write the target Secret for the committed version when it is stale; report health."""
    assert status.version is not None and status.commitments_digest is not None
    spec, namespace, name = secret.spec, secret.namespace, secret.name
    changed = _key_changed(status, views)
    nodes = status.nodes or ()
    down = [n.name for n in nodes if not (views.get(n.name) and views[n.name].usable)]
    reachable = len(nodes) - len(set(down) | set(changed))
    target = secret.target_name
    namespaces = [
        namespace,
        *(n for n in (spec.access.namespaces if spec.access else None) or () if n != namespace),
    ]
    stale = [ns for ns in namespaces if await op.kube.secret_version(ns, target) != status.version]
    conditions: list[tuple[str, bool, str, str]] = []
    patch: dict[str, Any] = {"sharesReachable": reachable, "observedGeneration": secret.generation}
    bad = {b.node for b in status.bad_shares or () if b.version == status.version}
    if stale:
        sources = [
            Source(op.client_for(views[n.name]), views[n.name].signing_key)
            for n in nodes
            if n.name in views and n.name not in changed and n.name not in down
        ]
        started = asyncio.get_running_loop().time()
        collected = await collect(
            sources,
            namespace=namespace,
            name=name,
            version=status.version,
            threshold=spec.threshold,
            commitments_digest=status.commitments_digest,
            identity=op.identity,
        )
        METRICS.collection_seconds.observe(asyncio.get_running_loop().time() - started)
        bad |= set(collected.bad)
        if collected.bad:
            await _blame(op, body, status, collected.bad, now, patch)
        if collected.data is None:
            missing = sorted(set(collected.unreachable) | set(collected.bad) | set(down))
            message = messages.TOO_FEW_SHARES.format(
                threshold=spec.threshold, version=status.version, nodes=", ".join(missing)
            )
            patch["sharesReachable"] = len(nodes) - len(set(missing) | set(changed))
            patch["nodes"] = [
                replace(n, state=_node_state(n.name, changed, missing, bad)).to_dict()
                for n in nodes
            ]
            conditions.append((ConditionType.READY, False, Reason.NODES_UNREACHABLE, message))
            conditions.append((ConditionType.DEGRADED, True, Reason.NODES_UNREACHABLE, message))
            await _set_conditions(op, body, status, now, conditions, patch)
            raise Retry(message)
        owner = _owner(body)
        for ns in stale:
            await op.kube.write_secret(
                ns,
                target,
                collected.data,
                secret_type=spec.target.type,
                version=status.version,
                labels={} if ns == namespace else {SOURCE_LABEL: f"{namespace}.{name}"},
                owner=owner if ns == namespace else None,
            )
        patch["lastCollectionTime"] = format_time(now)
        op.events(
            body,
            "Normal",
            "Materialized",
            messages.MATERIALIZED.format(target=target, version=status.version),
        )
    conditions.append(
        (
            ConditionType.READY,
            True,
            Reason.COMMITTED,
            messages.READY.format(target=target, version=status.version),
        )
    )
    conditions.append(
        (
            ConditionType.DISTRIBUTED,
            True,
            Reason.COMMITTED,
            messages.STORED.format(version=status.version, shares=len(nodes)),
        )
    )
    if changed:
        conditions.append(
            (
                ConditionType.DEGRADED,
                True,
                Reason.NODE_KEY_CHANGED,
                messages.KEY_CHANGED.format(nodes=", ".join(changed)),
            )
        )
    elif down:
        conditions.append(
            (
                ConditionType.DEGRADED,
                True,
                Reason.NODES_UNREACHABLE,
                messages.NODES_DOWN.format(
                    nodes=", ".join(down),
                    reachable=reachable,
                    shares=len(nodes),
                    threshold=spec.threshold,
                ),
            )
        )
    else:
        conditions.append((ConditionType.DEGRADED, False, Reason.COMMITTED, messages.HEALTHY))
    patch["nodes"] = [
        replace(n, state=_node_state(n.name, changed, down, bad)).to_dict() for n in nodes
    ]
    await _set_conditions(op, body, status, now, conditions, patch)
    if stale and status.version > 1:
        await _destroy_older(op, secret, status, views)


async def _destroy_older(
    op: Operator, secret: DecentralizedSecret, status: SecretStatus, views: Mapping[str, NodeView]
) -> None:
    """After a new version is materialized, erase the shares of older ones."""
    assert status.version is not None
    for node in status.nodes or ():
        view = views.get(node.name)
        if view is None or not view.usable:
            continue
        try:
            held = await op.client_for(view).held(secret.namespace, secret.name)
            for item in held:
                if int(item["version"]) < status.version:
                    await op.client_for(view).destroy(
                        secret.namespace, secret.name, int(item["version"])
                    )
        except (NodeError, KeyError, ValueError) as error:
            logger.info(
                "%s/%s: older versions stay on %s for now: %s",
                secret.namespace,
                secret.name,
                node.name,
                error,
            )


async def _blame(
    op: Operator,
    body: Mapping[str, Any],
    status: SecretStatus,
    bad: Sequence[str],
    now: datetime,
    patch: dict[str, Any],
) -> None:
    """Name nodes that sent a bad share: status, Event and metric."""
    from kuorum.models import BadShare

    assert status.version is not None
    recorded = list(status.bad_shares or ())
    for node in bad:
        METRICS.bad_shares.labels(node=node).inc()
        op.events(
            body,
            "Warning",
            "BadShare",
            messages.BAD_SHARE.format(node=node, version=status.version),
        )
        recorded.append(BadShare(node, status.version, now))
    patch["badShares"] = [b.to_dict() for b in recorded[-10:]]


def _node_state(name: str, changed: Sequence[str], down: Sequence[str], bad: set[str]) -> NodeState:
    if name in changed:
        return NodeState.KEY_CHANGED
    if name in bad:
        return NodeState.BAD_SHARE
    return NodeState.UNREACHABLE if name in down else NodeState.STORED


def _key_changed(status: SecretStatus, views: Mapping[str, NodeView]) -> list[str]:
    """Chosen nodes whose published keys differ from the ones pinned at dealing."""
    changed = []
    for node in status.nodes or ():
        view = views.get(node.name)
        if view is None or node.signing_key_fingerprint is None:
            continue
        if (view.signing_fingerprint, view.encryption_fingerprint) != (
            node.signing_key_fingerprint,
            node.encryption_key_fingerprint,
        ):
            changed.append(node.name)
    return changed


async def _set_conditions(
    op: Operator,
    body: Mapping[str, Any],
    status: SecretStatus,
    now: datetime,
    updates: Sequence[tuple[str, bool, str, str]],
    patch: dict[str, Any] | None = None,
) -> None:
    conditions: Sequence[Condition] = status.conditions or ()
    for kind, value, reason, message in updates:
        conditions = set_condition(
            conditions, _condition(kind, value, reason, message, now, body["metadata"])
        )
    patch = dict(patch or {})
    patch["conditions"] = [c.to_dict() for c in conditions]
    await op.kube.patch_status(body["metadata"]["namespace"], body["metadata"]["name"], patch)


def _condition(
    kind: str, value: bool, reason: str, message: str, now: datetime, metadata: Mapping[str, Any]
) -> Condition:
    return Condition(
        type=kind,
        status=ConditionStatus.TRUE if value else ConditionStatus.FALSE,
        reason=str(reason),
        message=message,
        last_transition_time=now,
        observed_generation=metadata.get("generation"),
    )


def _owner(body: Mapping[str, Any]) -> dict[str, Any]:
    metadata = body["metadata"]
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def utcnow() -> datetime:
    """The reconciler's clock (passed in, so tests can move it)."""
    return datetime.now(UTC)
