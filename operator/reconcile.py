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

:mod:`kuorum.operator.plan` decides each step from the status and what I/O returned;
this module only carries the steps out. Status is written by merge patch: the pending
version and the commit (the two-phase commit's own writes, each durable before what
depends on it), then one report at the end of the pass, left out when nothing changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import names
from kuorum.accessrule import AccessRule
from kuorum.errors import KuorumError
from kuorum.kube.nodeclient import NodeClient, NodeError, Source
from kuorum.models import (
    Copy,
    DecentralizedSecret,
    DeliveryGrant,
    InvalidSpec,
    Reason,
    SecretStatus,
)
from kuorum.operator import dealing, messages, plan
from kuorum.operator.collect import Collected, collect
from kuorum.operator.kubeio import SOURCE_LABEL, KubeIO, TargetConflict
from kuorum.operator.metrics import METRICS
from kuorum.placement import NodeView

logger = logging.getLogger(__name__)

Events = Callable[[Any, str, str, str], None]
"""``events(body, type, reason, message)``: posts a Kubernetes Event about ``body``."""


class Retry(KuorumError):
    """Not done yet (nodes down, source missing, shares left): the one way our handlers ask
    to run again. The loop logs it and tries at its next pass; the finalizer hands it to
    kopf, which calls again after ``delay`` seconds."""

    def __init__(self, message: str, delay: float = 10.0) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class Operator:
    """Everything a reconciliation needs, shared by all objects."""

    kube: KubeIO
    client_for: Callable[[NodeView], NodeClient]
    identity: str
    """How the nodes see us: the release context's recipient."""
    dealer: ed25519.Ed25519PrivateKey = field(repr=False)
    events: Events
    sealers: frozenset[bytes] | None = None
    """The only keys sealed sources may be sealed with (None: any)."""
    forbidden: frozenset[str] = frozenset(names.SYSTEM_NAMESPACES)
    """Namespaces never written to: the system ones and the one Kuorum runs in."""
    served: frozenset[str] | None = None
    """The only namespaces written to (``--watch-namespace``); None: any not forbidden."""


Grants = Mapping[str, Sequence[DeliveryGrant]]
"""The DeliveryGrants of each namespace."""


async def reconcile(
    op: Operator,
    body: Mapping[str, Any],
    views: Mapping[str, NodeView],
    *,
    now: datetime,
    grants: Grants,
) -> bool:
    """One pass over one object: distribute if due, materialize if stale, report health.

    Returns whether the object is Ready; raises :class:`Retry` when it must wait.
    ``body`` serves Events and the owner reference (the model has no uid); all else
    reads the parsed model.
    """
    metadata = body["metadata"]
    status = SecretStatus.from_dict(body.get("status") or {})
    try:
        secret = DecentralizedSecret.from_object(body)
    except InvalidSpec as error:
        generation = metadata.get("generation")
        generation = generation if isinstance(generation, int) else None
        wanted = plan.invalid(status, error, generation, now)
        await _patch(op, metadata["namespace"], metadata["name"], status, wanted)
        return False
    news: list[plan.Event] = []
    try:
        written, report = await _steps(op, body, secret, status, views, now, grants, news)
    finally:
        if news:  # a commit and the write of its version: one Event
            _post(op, body, plan.told(news))
    await _patch(op, secret.namespace, secret.name, written, report.status)
    if report.wait is not None:
        raise Retry(report.wait.message)
    if report.retire:
        await _destroy_older(op, secret, report.status, views)
    return True


async def _steps(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
    grants: Grants,
    news: list[plan.Event],
) -> tuple[SecretStatus, plan.Report]:
    """Every step up to the report: the status as last written, and the report (``news``:
    where what was committed and written is told)."""
    sealed_due = secret.spec.source.sealed is not None and plan.distribution_due(
        secret, status, now
    )
    uid = await op.kube.namespace_uid(secret.namespace) if sealed_due else None
    distribution = plan.distribution(
        secret, status, views, now, sealers=op.sealers, namespace_uid=uid
    )
    targets = await _targets(op, body, secret, grants)
    written = status
    if distribution is not None:
        written, status, stalled = await _distribute(
            op, body, secret, status, distribution, views, now, targets, news
        )
        if stalled is not None:
            return written, stalled
    return await _materialize(op, body, secret, written, status, views, now, targets, news)


@dataclass(frozen=True)
class _Targets:
    """Where the target Secret may go and what holds its name there, read once a pass."""

    delivery: plan.Delivery
    versions: Mapping[str, int | None]
    """Of each allowed namespace: the version our copy there carries (None: none)."""
    conflicts: Sequence[str]
    """Allowed namespaces where someone else's Secret holds the name."""
    owned: Sequence[str]
    """Allowed namespaces where our copy is."""

    @property
    def writable(self) -> list[str]:
        """Where a new version is written: every allowed namespace not taken by another."""
        return [ns for ns in self.versions if ns not in self.conflicts]


async def _targets(
    op: Operator, body: Mapping[str, Any], secret: DecentralizedSecret, grants: Grants
) -> _Targets:
    uid = body["metadata"]["uid"]
    deliver = plan.delivery(secret, grants, op.forbidden, op.served)
    held = {ns: await op.kube.target(ns, secret.target_name, uid) for ns in deliver.allowed}
    return _Targets(
        deliver,
        {ns: target.version for ns, target in held.items()},
        [ns for ns, target in held.items() if target.exists and not target.owned],
        [ns for ns, target in held.items() if target.owned],
    )


async def _distribute(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    distribution: plan.Distribution,
    views: Mapping[str, NodeView],
    now: datetime,
    targets: _Targets,
    news: list[plan.Event],
) -> tuple[SecretStatus, SecretStatus, plan.Report | None]:
    """Abandon, deal or forward, store, commit: the status as last written, the status
    to go on from, and the report when the distribution stalled."""
    written = status
    if distribution.abandon is not None:
        await _abandon(op, secret, distribution.abandon, views)
    status = distribution.status
    step = distribution.step
    if isinstance(step, plan.Deal):
        step = await _deal(op, secret, step)
    if isinstance(step, plan.Wait):
        return written, status, plan.stalled(secret, status, step, now)
    if step is None:
        return written, status, None
    version = step.dealt.version
    written = status = await _record_pending(op, secret, status, version)
    failed = await _store(op, secret, step)
    if failed:
        report = plan.store_failed(secret, status, version, list(failed), now)
        assert report.wait is not None
        detail = "; ".join(str(e) for e in failed.values())[:512]
        logger.warning("%s: %s: %s", secret.ref, report.wait.message, detail)
        return written, status, report
    done = plan.commit(secret, status, step, now, writes=targets.writable)
    written = status = await _commit(op, body, secret, status, done)
    news.append(done.event)
    if secret.pod_delivery and done.rotated:  # no Secret to write first: retire at once
        await _destroy_older(op, secret, status, views)
    return written, status, None


async def _materialize(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    written: SecretStatus,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
    targets: _Targets,
    news: list[plan.Event],
) -> tuple[SecretStatus, plan.Report]:
    """Delete copies no longer allowed, write the committed version where the target
    Secret is stale, report health: the status as last written, and the report."""
    conflicts = targets.conflicts
    stale, kept = plan.copies(secret, status, targets.delivery.allowed, targets.owned)
    await _delete_copies(op, body, stale, body["metadata"]["uid"])
    status = replace(status, copies=kept or None)
    materialize = plan.materialize(secret, status, views, targets.versions, conflicts=conflicts)
    collected = None
    if materialize is not None:
        status = plan.recorded(status, secret, materialize.namespaces)
        rules = plan.accepted_rules(secret, await op.kube.namespace_uid(secret.namespace))
        collected = await _collect(op, secret, status, materialize, rules)
    refused = plan.refusals(secret, targets.delivery, conflicts)
    report = plan.report(secret, status, views, now, collected, refused=refused)
    for event in report.events:
        _post(op, body, event)
    if report.materialized is not None:
        assert materialize is not None and collected is not None and collected.data is not None
        written = await _record_copies(op, secret, written, status)
        await _write_secrets(op, body, secret, status, materialize.namespaces, collected.data)
        news.append(report.materialized)
    return written, report


async def _delete_copies(
    op: Operator, body: Mapping[str, Any], stale: Sequence[Copy], uid: str
) -> None:
    """Delete target Secrets no longer allowed where they are (ours only: a Secret that
    does not carry our uid is left alone)."""
    deleted = [c for c in stale if await op.kube.delete_copy(c.namespace, c.name, uid)]
    if deleted:
        shown = ", ".join(f"{c.namespace}/{c.name}" for c in deleted)
        op.events(body, "Normal", "CopiesDeleted", messages.COPIES_DELETED.format(copies=shown))


async def _record_copies(
    op: Operator, secret: DecentralizedSecret, written: SecretStatus, status: SecretStatus
) -> SecretStatus:
    """Write ``status.copies`` before the copies themselves: after a crash, each copy
    made is on record, so revoking access deletes it."""
    if status.copies == written.copies:
        return written
    copies = [c.to_dict() for c in status.copies or ()]
    await op.kube.patch_status(secret.namespace, secret.name, {"copies": copies})
    return replace(written, copies=status.copies)


def _post(op: Operator, body: Mapping[str, Any], event: plan.Event) -> None:
    op.events(body, event.type, event.reason, event.message)


async def _record_pending(
    op: Operator, secret: DecentralizedSecret, status: SecretStatus, version: int
) -> SecretStatus:
    """Write ``pendingVersion`` before any share leaves: after a crash, the next pass knows
    this number was attempted and abandons it (a number is never dealt twice)."""
    await op.kube.patch_status(secret.namespace, secret.name, {"pendingVersion": version})
    return replace(status, pending_version=version)


async def _commit(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    done: plan.Commit,
) -> SecretStatus:
    """Make the version current before anything relies on it.

    Its own write, not part of the report: were the target Secret written, or an
    imported Secret deleted, before the commit is durable, a crash would leave values
    of a version the next pass abandons (and destroys), or lose imported values.
    """
    await _patch(op, secret.namespace, secret.name, status, done.status)
    if done.delete_source is not None and not await op.kube.delete_imported(
        secret.namespace, done.delete_source
    ):
        message = messages.SOURCE_KEPT.format(namespace=secret.namespace, name=done.delete_source)
        op.events(body, "Warning", "SourceKept", message)
    if done.rotated:
        METRICS.rotations.inc()
    return done.status


async def _patch(
    op: Operator, namespace: str, name: str, before: SecretStatus, after: SecretStatus
) -> None:
    """Write what changed from ``before`` (what the apiserver holds) to ``after``."""
    patch = plan.merge_patch(before, after)
    if patch:
        await op.kube.patch_status(namespace, name, patch)


async def _abandon(
    op: Operator, secret: DecentralizedSecret, version: int, views: Mapping[str, NodeView]
) -> None:
    """Destroy what an unfinished attempt stored (best effort: it was never committed)."""
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


async def _deal(
    op: Operator, secret: DecentralizedSecret, step: plan.Deal
) -> plan.Forward | plan.Wait:
    """Seal fresh generated or imported values to the chosen nodes (in a thread: CPU)."""
    source = secret.spec.source
    if source.generate is not None:
        data = dealing.generate_values(source.generate)
    else:
        imported = source.from_secret
        assert imported is not None, "sealed sources are forwarded, not dealt"
        found = await op.kube.read_secret_data(secret.namespace, imported.name)
        if found is None:
            return plan.source_missing(secret)
        data = found
    rule = None
    if secret.pod_delivery:  # the nodes check every pod against the rule bound here
        rule = AccessRule.of(secret, await op.kube.namespace_uid(secret.namespace))
    dealt = await asyncio.to_thread(
        dealing.deal,
        data,
        namespace=secret.namespace,
        name=secret.name,
        version=step.version,
        threshold=secret.spec.threshold,
        nodes=step.nodes,
        dealer=op.dealer,
        rule=rule,
    )
    return plan.Forward(step.nodes, dealt)


async def _store(
    op: Operator, secret: DecentralizedSecret, step: plan.Forward
) -> dict[str, BaseException]:
    """Send every chosen node its share at once; the nodes that did not store it, and why."""
    dealt = step.dealt
    results = await asyncio.gather(
        *(
            op.client_for(v).store(
                secret.namespace, secret.name, dealt.version, dealt.bodies[v.name]
            )
            for v in step.nodes
        ),
        return_exceptions=True,
    )
    failed = {
        v.name: r for v, r in zip(step.nodes, results, strict=True) if isinstance(r, BaseException)
    }
    for node, error in failed.items():
        kind = getattr(error, "kind", "other")
        METRICS.node_errors.labels(node=node, kind=kind).inc()
        if kind == "bad_receipt":  # acked what it did not store: blamed as a bad share is
            METRICS.bad_shares.labels(node=node).inc()
    return failed


async def _collect(
    op: Operator,
    secret: DecentralizedSecret,
    status: SecretStatus,
    step: plan.Materialize,
    rules: frozenset[bytes],
) -> Collected:
    """Gather t valid shares of the committed version, bound to one of ``rules``, from the
    planned sources."""
    assert status.version is not None and status.commitments_digest is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    collected = await collect(
        [Source(op.client_for(v), v.signing_key) for v in step.sources],
        namespace=secret.namespace,
        name=secret.name,
        version=status.version,
        threshold=secret.spec.threshold,
        commitments_digest=status.commitments_digest,
        identity=op.identity,
        rules=rules,
    )
    METRICS.collection_seconds.observe(loop.time() - started)
    for node in collected.bad:
        METRICS.bad_shares.labels(node=node).inc()
    return collected


async def _write_secrets(
    op: Operator,
    body: Mapping[str, Any],
    secret: DecentralizedSecret,
    status: SecretStatus,
    namespaces: Sequence[str],
    data: Mapping[str, bytes],
) -> None:
    """Write the target Secret where it is stale; the copy in the secret's own namespace is
    owned by it (deleted with it), copies elsewhere name it by label."""
    assert status.version is not None
    owner = _owner(body["metadata"])
    for ns in namespaces:
        own = ns == secret.namespace
        try:
            await op.kube.write_secret(
                ns,
                secret.target_name,
                data,
                secret_type=secret.spec.target.type,
                version=status.version,
                uid=owner["uid"],
                labels={} if own else {SOURCE_LABEL: f"{secret.namespace}.{secret.name}"},
                owner=owner if own else None,
            )
        except TargetConflict as conflict:  # created by someone else since it was read
            message = messages.TARGET_CONFLICT.format(secrets=str(conflict))
            op.events(body, "Warning", str(Reason.TARGET_CONFLICT), message)


async def _destroy_older(
    op: Operator, secret: DecentralizedSecret, status: SecretStatus, views: Mapping[str, NodeView]
) -> None:
    """After a new version is materialized (or, with delivery Pod, committed), erase the
    shares of older ones."""
    assert status.version is not None
    for node in status.nodes or ():
        view = views.get(node.name)
        if view is None or not view.usable:
            continue
        client = op.client_for(view)
        try:
            for held in await client.held(secret.namespace, secret.name):
                if held.version < status.version:
                    await client.destroy(secret.namespace, secret.name, held.version)
        except NodeError as error:
            logger.info(
                "%s/%s: older versions stay on %s for now: %s",
                secret.namespace,
                secret.name,
                node.name,
                error,
            )


def _owner(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The owner reference of a materialized Secret: the DecentralizedSecret, by uid."""
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
