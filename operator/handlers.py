"""kopf handlers: a loop reconciles each DecentralizedSecret, a finalizer destroys shares.

Each object has one loop (a kopf daemon) that passes over it when the object changes
(an event handler wakes it) and at least every ``--interval`` seconds otherwise. Level-
triggered: whatever happened while the operator was down, crashed mid-dealing, or while
nodes were away, the next pass sees the current state and converges. A pass that would
find nothing to do is skipped (:mod:`kuorum.operator.quiet`): a Ready secret whose
object, node views and grants are as its last pass left them, and a body older than its
last pass's own writes. ShareNodes and DeliveryGrants are kept in kopf indexes, so a pass
never lists them. Both handlers wait the same way: they raise
:class:`~kuorum.operator.reconcile.Retry`; the loop logs it and tries at its next pass,
the finalizer hands it to kopf as a TemporaryError.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import kopf
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import names
from kuorum.kube.nodeclient import NodeClient, NodeError
from kuorum.models import Copy, DeliveryGrant, InvalidSpec, SecretStatus, parse_time
from kuorum.operator import messages
from kuorum.operator.kubeio import KubeIO
from kuorum.operator.metrics import METRICS
from kuorum.operator.pins import NodePins
from kuorum.operator.quiet import Inputs, Quiet
from kuorum.operator.reconcile import Operator, Retry, reconcile, utcnow
from kuorum.operator.settings import OperatorSettings
from kuorum.operator.tokens import NodeTokens
from kuorum.placement import NodeView, view

logger = logging.getLogger(__name__)
SECRETS = (names.GROUP, names.VERSION, names.SECRET_PLURAL)
NODES = (names.GROUP, names.VERSION, names.NODE_PLURAL)
GRANTS = (names.GROUP, names.VERSION, names.GRANT_PLURAL)
DELETION_GRACE = timedelta(minutes=10)
"""How long the finalizer retries unreachable nodes before it lets the object go."""
DELETION_RETRY = 15.0
"""Seconds between the finalizer's attempts while nodes still hold shares."""
RECONCILING = 64
"""Reconciliations in flight at once; the others wait. A thousand new secrets would
otherwise all hold their dealings, requests and responses in memory together."""


def install(config: OperatorSettings) -> kopf.OperatorRegistry:
    """Register the handlers on a fresh registry configured by ``config``."""
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    async def startup(*, settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        settings.persistence.finalizer = names.FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=names.GROUP)
        settings.persistence.diffbase_storage = NoDiffBase()
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        settings.scanning.disabled = True  # our resources are known: no RBAC to read CRDs
        session = aiohttp.ClientSession()
        tokens = NodeTokens(config.api, namespace=config.namespace, account=config.service_account)

        clients: dict[tuple[str, str, str, bytes], NodeClient] = {}

        def client_for(node: NodeView) -> NodeClient:
            """One client per node identity: its TLS context and connections are reused."""
            key = (node.name, node.endpoint, node.certificate, node.signing_key)
            if key not in clients:
                clients[key] = NodeClient(
                    session,
                    name=node.name,
                    endpoint=node.endpoint,
                    certificate=node.certificate,
                    signing_key=node.signing_key,
                    token=functools.partial(tokens, node.name),
                )
            return clients[key]

        def events(body: Any, type_: str, reason: str, message: str) -> None:
            kopf.event(body, type=type_, reason=reason, message=message)

        memo.session = session
        memo.pins = NodePins(config.api, config.namespace)
        await asyncio.to_thread(memo.pins.load)
        memo.inputs = Inputs(lambda index: _views(index, config, memo.pins))
        memo.quiet = Quiet()
        memo.reconciling = asyncio.Semaphore(RECONCILING)
        memo.wakeups = {}
        memo.ready = {}  # here, not per object: kopf hands each object a copy of this memo
        memo.operator = Operator(
            kube=KubeIO(config.api, resync=config.resync),
            client_for=client_for,
            identity=config.identity,
            dealer=ed25519.Ed25519PrivateKey.generate(),
            events=events,
            sealers=config.trusted_sealers,
            forbidden=frozenset({*names.SYSTEM_NAMESPACES, config.namespace}),
            served=config.served,
        )

    @kopf.on.cleanup(registry=registry)
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        await memo.session.close()

    @kopf.index(*NODES, id="sharenodes", registry=registry)
    def sharenodes(name: str, body: kopf.Body, **_: Any) -> dict[str, Any]:
        return {
            name: {
                "metadata": dict(body.metadata),
                "spec": dict(body.spec),
                "status": dict(body.status),
            }
        }

    @kopf.index(*GRANTS, id="grants", registry=registry)
    def grants(body: kopf.Body, **_: Any) -> dict[str, DeliveryGrant]:
        try:
            return {str(body.metadata.namespace): DeliveryGrant.from_object(body)}
        except InvalidSpec as error:  # the CRD schema makes this rare: say so, grant nothing
            logger.warning("ignoring %s", error)
            return {}

    @kopf.on.event(*SECRETS, id="wake", registry=registry)
    def wake(*, uid: str, memo: kopf.Memo, **_: Any) -> None:
        """Any change of the object wakes its loop (its own writes too: Quiet tells them)."""
        woken = memo.wakeups.get(uid)
        if woken is not None:
            woken.set()

    @kopf.daemon(*SECRETS, id="reconcile", registry=registry)
    async def loop(
        *, body: kopf.Body, uid: str, memo: kopf.Memo, stopped: kopf.DaemonStopped, **kw: Any
    ) -> None:
        woken = memo.wakeups.setdefault(uid, asyncio.Event())
        try:
            while not stopped and not body.metadata.get("deletionTimestamp"):
                woken.clear()
                await _pass(config, memo, body, kw["sharenodes"], kw["grants"])
                await _rest(woken, stopped, config.interval)
        finally:
            memo.wakeups.pop(uid, None)

    @kopf.on.delete(*SECRETS, id="destroy-shares", registry=registry)
    async def destroy(*, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
        views = _views(kwargs["sharenodes"], config, memo.pins)
        try:
            await _destroy(memo.operator, body, views)
        except Retry as waiting:
            raise kopf.TemporaryError(str(waiting), delay=waiting.delay) from None
        memo.quiet.forget(str(body.metadata.uid))
        _count(memo, body.metadata.uid, None)

    return registry


async def _pass(
    config: OperatorSettings,
    memo: kopf.Memo,
    body: kopf.Body,
    nodes: Mapping[str, Any],
    grants: Mapping[str, Any],
) -> None:
    """One pass over one object, unless it would find nothing to do (Quiet); what it
    read and wrote is remembered for the next."""
    inputs, quiet, kube = memo.inputs, memo.quiet, memo.operator.kube
    uid, namespace, name = (str(body.metadata[k]) for k in ("uid", "namespace", "name"))
    inputs.refresh(nodes, grants)
    if quiet.skip(uid, body.metadata.get("resourceVersion"), inputs.epoch, utcnow()):
        return
    async with memo.reconciling:
        obj, behind = await _current(memo, body)
        epoch, views, now = inputs.epoch, inputs.views, utcnow()
        if obj is None or quiet.skip(uid, _version(obj), epoch, now):
            return
        ready, until = False, now + timedelta(seconds=config.interval)
        with METRICS.reconcile_seconds.time():
            try:
                await memo.pins.sync()
                ready = await reconcile(memo.operator, obj, views, now=now, grants=grants)
                if ready:
                    until = _rest_until(obj, now, config)
            except Retry as waiting:
                logger.info("%s/%s: %s", namespace, name, waiting)
            except Exception:  # the loop goes on: the next pass tries again
                logger.exception("%s/%s: reconciliation failed", namespace, name)
            finally:
                written = kube.written(namespace, name)
                quiet.passed(uid, _version(obj), written, epoch, until, behind=behind)
    _count(memo, uid, ready)


async def _current(
    memo: kopf.Memo, body: kopf.Body
) -> tuple[Mapping[str, Any] | None, frozenset[str]]:
    """The object to pass over: kopf's latest body (a snapshot: kopf replaces it whole),
    or, when that may be older than the last pass's own writes, the object as the
    apiserver has it now (None: gone, or not readable this time). Also the versions
    kopf's body may still go through before it catches up with that read: known stale."""
    uid, obj = str(body.metadata.uid), dict(body)
    if not memo.quiet.unsure(uid, _version(obj)):
        return obj, frozenset()
    behind = memo.quiet.known(uid) | {str(_version(obj))}
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    try:
        fresh: Mapping[str, Any] | None = await memo.operator.kube.decentralized_secret(
            namespace, name
        )
    except Exception:  # the loop goes on: the next pass tries again
        logger.exception("%s/%s: reading it failed", namespace, name)
        return None, behind
    return fresh, behind


async def _rest(woken: asyncio.Event, stopped: kopf.DaemonStopped, seconds: float) -> None:
    """Until the object changes, kopf stops the loop (deletion, shutdown), or ``seconds``
    pass: a stopping operator does not wait out anyone's interval."""
    sleepers = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(sleepers, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sleeper in sleepers:
            sleeper.cancel()


def _version(obj: Mapping[str, Any]) -> str | None:
    version = obj["metadata"].get("resourceVersion")
    return str(version) if version is not None else None


def _rest_until(obj: Mapping[str, Any], now: datetime, config: OperatorSettings) -> datetime:
    """Until when a Ready secret's passes may be skipped: its next rotation, or the next
    read of its target Secrets, whichever comes first."""
    until = now + timedelta(seconds=config.resync)
    rotation = SecretStatus.from_dict(obj.get("status") or {}).next_rotation_time
    return min(until, rotation) if rotation is not None else until


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf keeps the last handled object (an annotation) to tell creations from updates,
    one more write per object and a copy of the spec in every watch event. The operator
    has no creation or update handlers (its loop is level-triggered), so nothing is kept:
    every object looks handled, and kopf writes no diffbase at all."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        """Never called (what is built always equals what is fetched); nothing to keep."""


def _count(memo: kopf.Memo, uid: str | None, ready: bool | None) -> None:
    """Keep the gauge of secrets by Ready up to date (``None``: the object is gone)."""
    states: dict[str | None, bool] = memo.ready
    if ready is None:
        states.pop(uid, None)
    else:
        states[uid] = ready
    for value in (True, False):
        METRICS.secrets.labels(ready=str(value)).set(sum(v is value for v in states.values()))


def _views(
    index: Mapping[str, Any], config: OperatorSettings, pins: NodePins
) -> dict[str, NodeView]:
    """The usable picture of the admitted ShareNodes; others are ignored (and named once),
    and one whose keys differ from its pins counts as down."""
    now = utcnow()
    found = {}
    for name in index:
        if config.admitted_nodes is not None and name not in config.admitted_nodes:
            if name not in _IGNORED:
                _IGNORED.add(name)
                logger.warning(
                    "ignoring ShareNode %s: not one of the admitted nodes (--admit-nodes)", name
                )
            continue
        for obj in index[name]:
            node = view(obj, now=now, grace=config.heartbeat_grace)
            if node is not None:
                found[node.name] = node if pins.trusted(obj) else replace(node, usable=False)
    return found


_IGNORED: set[str] = set()
"""ShareNodes already named as ignored, so a flood of fakes logs each name once."""


async def _destroy(op: Operator, body: kopf.Body, views: Mapping[str, NodeView]) -> None:
    """Erase every version on every node; after the grace period, let go and say who holds.

    Reads the raw spec: an object whose spec no longer parses must still be let go.
    """
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    status = SecretStatus.from_dict(dict(body.status))
    chosen = {n.name for n in status.nodes or ()}
    left = []
    for node in sorted(set(views) | chosen):
        view_ = views.get(node)
        if view_ is None or not view_.usable:
            if node in chosen:
                left.append(node)
            continue
        try:
            await op.client_for(view_).destroy(namespace, name)
        except NodeError as error:
            METRICS.node_errors.labels(node=node, kind=error.kind).inc()
            left.append(node)
    access = body.spec.get("access") or {}
    target = (body.spec.get("target") or {}).get("name") or name
    asked = {Copy(other, target) for other in access.get("namespaces") or ()}  # unrecorded
    for copy in sorted(set(status.copies or ()) | asked):
        await op.kube.delete_copy(copy.namespace, copy.name, str(body.metadata.uid))
    if not left:
        op.events(
            body,
            "Normal",
            "SharesDestroyed",
            messages.SHARES_DESTROYED.format(nodes=", ".join(sorted(chosen)) or "none"),
        )
        return
    deleted = body.metadata.get("deletionTimestamp")
    if deleted and utcnow() - parse_time(deleted) >= DELETION_GRACE:
        op.events(body, "Warning", "SharesLeft", messages.SHARES_LEFT.format(nodes=", ".join(left)))
        return
    raise Retry(f"shares of {namespace}/{name} still on {', '.join(left)}", delay=DELETION_RETRY)
