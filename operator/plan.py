"""What one pass does to a DecentralizedSecret, decided without I/O.

Each function takes the parsed secret, its status, the node views, the clock and the
results of I/O already done (target Secret versions, a collection), and returns a
decision and the status it leads to; :mod:`kuorum.operator.reconcile` carries them out.
Pure, so every decision is tested without a cluster. No decision holds a secret value
or an open share (a :class:`Forward` carries shares sealed to their nodes), and every
message names only objects, nodes, versions and counts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kuorum import b64, sealing, sharing
from kuorum.accessrule import AccessRule
from kuorum.models import (
    BadShare,
    Condition,
    ConditionStatus,
    ConditionType,
    Copy,
    DecentralizedSecret,
    DeliveryGrant,
    InvalidSpec,
    NodeState,
    NodeStatus,
    Reason,
    Sealed,
    SecretStatus,
    set_condition,
)
from kuorum.operator import dealing, messages
from kuorum.placement import NodeView, select

if TYPE_CHECKING:  # only the shape: the planner never collects
    from kuorum.operator.collect import Collected

BAD_SHARES_KEPT = 10
"""``status.badShares`` keeps the latest entries only."""


@dataclass(frozen=True)
class Wait:
    """The pass cannot go on: a condition reason and a message saying what to do."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Deal:
    """Seal fresh values (generated or imported) as ``version``, index i+1 to ``nodes[i]``."""

    nodes: tuple[NodeView, ...]
    version: int


@dataclass(frozen=True)
class Forward:
    """Store a sealed version on exactly these nodes (a dealt one, or a sealed source)."""

    nodes: tuple[NodeView, ...]
    dealt: dealing.Dealt


@dataclass(frozen=True)
class Distribution:
    """A new version is due: destroy an abandoned attempt first, then take ``step``."""

    abandon: int | None
    """A pending version no store will finish: destroyed wherever a node is usable."""
    step: Deal | Forward | Wait | None
    """None: the sealed source was rolled back to the committed version; nothing to store."""
    status: SecretStatus
    """The status the rest of the pass starts from."""


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event about the secret."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class Commit:
    """Every chosen node stored the version: the status that commits it, and what follows."""

    status: SecretStatus
    event: Event
    rotated: bool
    """A previous version was replaced."""
    delete_source: str | None
    """An imported Secret to delete, now that its values are committed."""


@dataclass(frozen=True)
class Materialize:
    """Rebuild the committed version from ``sources`` and write it in ``namespaces``."""

    namespaces: tuple[str, ...]
    """Where the target Secret is missing or holds another version."""
    sources: tuple[NodeView, ...]
    """Chosen nodes that are usable and keep their pinned keys."""


@dataclass(frozen=True)
class Report:
    """How a pass ends: the status it reports (one patch), Events, and what follows."""

    status: SecretStatus
    events: tuple[Event, ...] = ()
    """Posted as soon as the report is made (a bad share is named even if a write fails)."""
    materialized: Event | None = None
    """Set when t shares opened the payload: write the stale Secrets, then post this."""
    wait: Wait | None = None
    """Set when the pass could not finish: it is retried at the next one."""
    retire: bool = False
    """A newer version was just materialized: older ones may be destroyed on the nodes."""


def invalid(
    status: SecretStatus, error: InvalidSpec, generation: int | None, now: datetime
) -> SecretStatus:
    """A spec that does not parse: Ready False, with the field and the fix."""
    ready = _condition(ConditionType.READY, False, Reason.INVALID_SPEC, str(error), now, generation)
    return _with(replace(status, observed_generation=generation), [ready])


def distribution_due(secret: DecentralizedSecret, status: SecretStatus, now: datetime) -> bool:
    """Whether a new version is to be stored this pass."""
    if status.version is None or status.pending_version is not None:
        return True
    sealed = secret.spec.source.sealed
    if sealed is not None:  # sealed values change only with a new sealed version
        return sealed_changed(sealed, status)
    if status.observed_generation != secret.generation:
        return True
    return bool(status.next_rotation_time and status.next_rotation_time <= now)


def distribution(
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
    *,
    sealers: frozenset[bytes] | None = None,
    namespace_uid: str | None = None,
) -> Distribution | None:
    """What to store this pass, or None when the committed version stays; ``sealers``:
    the only keys a sealed source may be sealed with (None: any); ``namespace_uid``: the
    uid of the secret's namespace now (read when a sealed source is due)."""
    if not distribution_due(secret, status, now):
        return None
    sealed = secret.spec.source.sealed
    pending = status.pending_version
    resumed = sealed is not None and pending == sealed.version  # same shares: store again
    abandon = pending if pending is not None and not resumed else None
    if abandon is not None and sealed is not None and not sealed_changed(sealed, status):
        return Distribution(abandon, None, replace(status, pending_version=None))  # rolled back
    step = (
        forward(secret, sealed, status, views, sealers, namespace_uid)
        if sealed
        else deal(secret, status, views)
    )
    return Distribution(abandon, step, status)


def deal(
    secret: DecentralizedSecret, status: SecretStatus, views: Mapping[str, NodeView]
) -> Deal | Wait:
    """Choose n usable nodes (keeping the current ones, spreading zones) for a fresh number."""
    spec = secret.spec
    changed = key_changed(status, views)
    chosen = select(
        views.values(),
        spec.shares,
        selector=spec.node_selector,
        keep=[n.name for n in status.nodes or ()],
        exclude=changed,
    )
    if chosen is None:
        usable = sum(1 for v in views.values() if v.usable and v.name not in changed)
        return Wait(
            Reason.WAITING_FOR_NODES,
            messages.WAITING_FOR_NODES.format(usable=usable, shares=spec.shares),
        )
    return Deal(tuple(chosen), status.next_version)


def forward(
    secret: DecentralizedSecret,
    sealed: Sealed,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    sealers: frozenset[bytes] | None = None,
    namespace_uid: str | None = None,
) -> Forward | Wait:
    """Check a sealed source against the nodes it was sealed to, the spec's target and
    access and the namespace (and its sealer against the trusted ones); it is forwarded
    unopened."""
    if sealers is not None and sealed.sealer not in sealers:
        return Wait(
            Reason.UNTRUSTED_SEALER,
            messages.UNTRUSTED_SEALER.format(key=b64.encode(sealed.sealer)),
        )
    if sealed.namespace_uid is not None and sealed.namespace_uid != namespace_uid:
        return Wait(
            Reason.NAMESPACE_CHANGED,
            messages.NAMESPACE_CHANGED.format(
                namespace=secret.namespace, sealed=sealed.namespace_uid, actual=namespace_uid
            ),
        )
    committed = status.version or 0
    if sealed.version <= committed:
        return Wait(
            Reason.INVALID_SPEC,
            messages.SEALED_VERSION_USED.format(
                version=sealed.version, committed=committed, next=committed + 1
            ),
        )
    keys = {s.node: views[s.node].public_keys for s in sealed.shares if s.node in views}
    rule = AccessRule.of(secret, sealed.namespace_uid)
    misfit = sealing.misfits(
        sealed, namespace=secret.namespace, name=secret.name, keys=keys, rule=rule.digest()
    )
    if misfit:
        return Wait(
            Reason.NODE_KEY_CHANGED if any(m.key_changed for m in misfit) else Reason.INVALID_SPEC,
            messages.SEALED_MISFIT.format(
                details="; ".join(f"{m.node}: {m.detail}" for m in misfit)
            ),
        )
    selector = secret.spec.node_selector
    excluded = [
        s.node
        for s in sealed.shares
        if selector is not None and s.node in views and not selector.matches(views[s.node].labels)
    ]
    if excluded:
        return Wait(Reason.INVALID_SPEC, messages.SEALED_EXCLUDED.format(nodes=", ".join(excluded)))
    down = [s.node for s in sealed.shares if not (s.node in views and views[s.node].usable)]
    if down:
        return Wait(
            Reason.WAITING_FOR_NODES,
            messages.SEALED_NODES_DOWN.format(nodes=", ".join(down), version=sealed.version),
        )
    nodes = tuple(views[s.node] for s in sealed.shares)
    dealt = dealing.forward_sealed(sealed, threshold=secret.spec.threshold, rule=rule)
    return Forward(nodes, dealt)


def sealed_changed(sealed: Sealed, status: SecretStatus) -> bool:
    """Whether the sealed source is not the committed version (a new version to store)."""
    if sealed.version != status.version:
        return True
    digest = sharing.Commitments.from_bytes(sealed.commitments).digest()
    return digest != status.commitments_digest


def source_missing(secret: DecentralizedSecret) -> Wait:
    """The Secret a fromSecret source names does not exist."""
    imported = secret.spec.source.from_secret
    assert imported is not None
    return Wait(
        Reason.SOURCE_NOT_FOUND,
        messages.SOURCE_NOT_FOUND.format(namespace=secret.namespace, name=imported.name),
    )


def stalled(secret: DecentralizedSecret, status: SecretStatus, wait: Wait, now: datetime) -> Report:
    """No new version this pass: Distributed False says why; the current version serves."""
    updates = [(ConditionType.DISTRIBUTED, False)]
    if wait.reason == Reason.NODE_KEY_CHANGED:
        updates.append((ConditionType.DEGRADED, True))
    if status.version is None:
        updates.append((ConditionType.READY, False))
    conditions = [
        _condition(kind, value, wait.reason, wait.message, now, secret.generation)
        for kind, value in updates
    ]
    return Report(_with(status, conditions), wait=wait)


def store_failed(
    secret: DecentralizedSecret,
    status: SecretStatus,
    version: int,
    nodes: Sequence[str],
    now: datetime,
) -> Report:
    """Some chosen node did not store its share: the version stays pending, to be abandoned."""
    message = messages.STORE_FAILED.format(version=version, nodes=", ".join(nodes))
    wait = Wait(Reason.DISTRIBUTING, message)
    distributed = _condition(
        ConditionType.DISTRIBUTED, False, wait.reason, message, now, secret.generation
    )
    return Report(_with(status, [distributed]), wait=wait)


def commit(
    secret: DecentralizedSecret,
    status: SecretStatus,
    stored: Forward,
    now: datetime,
    *,
    writes: Sequence[str] = (),
) -> Commit:
    """The version every chosen node stored becomes current, with the keys pinned for them
    and the copies it is about to be written to (``writes``: namespaces) recorded, so the
    commit is also the record the writes need before them."""
    spec, dealt = secret.spec, stored.dealt
    rotation = spec.rotation if spec.source.generate is not None else None
    committed = replace(
        recorded(status, secret, writes),
        version=dealt.version,
        pending_version=None,
        observed_generation=secret.generation,
        commitments_digest=dealt.commitments_digest,
        next_rotation_time=now + rotation.interval if rotation else None,
        nodes=tuple(
            NodeStatus(
                v.name,
                dealt.indexes[v.name],
                NodeState.STORED,
                "",
                v.signing_fingerprint,
                v.encryption_fingerprint,
            )
            for v in stored.nodes
        ),
    )
    previous = status.version
    if previous is not None:
        event = Event("Normal", "Rotated", messages.ROTATED.format(old=previous, new=dealt.version))
    else:
        event = Event(
            "Normal",
            "Distributed",
            messages.DISTRIBUTED.format(
                version=dealt.version, shares=spec.shares, threshold=spec.threshold
            ),
        )
    imported = spec.source.from_secret
    delete = imported.name if imported is not None and imported.delete_after_import else None
    return Commit(committed, event, previous is not None, delete)


def told(news: Sequence[Event]) -> Event:
    """One Event for what a pass committed and wrote (one write to the apiserver, and one
    line in ``kubectl describe``): the first one's type and reason, every message."""
    return replace(news[0], message="; ".join(e.message for e in news))


def targets(secret: DecentralizedSecret) -> tuple[str, ...]:
    """The namespaces the spec asks the target Secret for: the secret's own, then access's;
    none with delivery Pod (no Secret is written: recorded copies are deleted)."""
    if secret.pod_delivery:
        return ()
    access = secret.spec.access.namespaces if secret.spec.access else None
    return (secret.namespace, *(n for n in access or () if n != secret.namespace))


@dataclass(frozen=True)
class Delivery:
    """Where the target Secret may be written, and where the spec asks for it in vain."""

    allowed: tuple[str, ...]
    ungranted: tuple[str, ...] = ()
    """Other namespaces without a DeliveryGrant that names this secret."""
    forbidden: tuple[str, ...] = ()
    """System namespaces, Kuorum's own and any the operator does not serve."""


def delivery(
    secret: DecentralizedSecret,
    grants: Mapping[str, Sequence[DeliveryGrant]],
    forbidden: Collection[str],
    served: Collection[str] | None = None,
) -> Delivery:
    """Split :func:`targets`: the secret's own namespace needs no grant, another needs a
    DeliveryGrant there that names this secret (``grants``: by namespace); ``forbidden``
    ones and, when ``served`` is given, those outside it are never written."""
    allowed, ungranted, refused = [], [], []
    for ns in targets(secret):
        if ns in forbidden or (served is not None and ns not in served):
            refused.append(ns)
        elif ns == secret.namespace or any(
            g.allows(secret.namespace, secret.name) for g in grants.get(ns, ())
        ):
            allowed.append(ns)
        else:
            ungranted.append(ns)
    return Delivery(tuple(allowed), tuple(ungranted), tuple(refused))


def refusals(
    secret: DecentralizedSecret, delivery: Delivery, conflicts: Sequence[str]
) -> list[Wait]:
    """Why the target Secret is not written somewhere the spec asks for it."""
    found = []
    if delivery.forbidden:
        text = messages.FORBIDDEN_NAMESPACE.format(namespaces=", ".join(delivery.forbidden))
        found.append(Wait(Reason.FORBIDDEN_NAMESPACE, text))
    if delivery.ungranted:
        text = messages.NOT_GRANTED.format(
            namespaces=", ".join(delivery.ungranted), namespace=secret.namespace, name=secret.name
        )
        found.append(Wait(Reason.NOT_GRANTED, text))
    if conflicts:
        taken = ", ".join(f"{ns}/{secret.target_name}" for ns in conflicts)
        found.append(Wait(Reason.TARGET_CONFLICT, messages.TARGET_CONFLICT.format(secrets=taken)))
    return found


def copies(
    secret: DecentralizedSecret,
    status: SecretStatus,
    allowed: Sequence[str],
    owned: Sequence[str],
) -> tuple[tuple[Copy, ...], tuple[Copy, ...]]:
    """The recorded copies to delete (no longer where the spec and the grants allow the
    target), and the record to keep: the rest, plus our own targets found in place (a
    copy written before copies were recorded)."""
    wanted = {Copy(ns, secret.target_name) for ns in allowed}
    recorded = set(status.copies or ())
    found = {Copy(ns, secret.target_name) for ns in owned}
    return tuple(sorted(recorded - wanted)), tuple(sorted((recorded & wanted) | found))


def recorded(
    status: SecretStatus, secret: DecentralizedSecret, namespaces: Sequence[str]
) -> SecretStatus:
    """``status`` with the copies about to be written in ``namespaces`` recorded (before
    they are written); unchanged when there are none."""
    more = {Copy(ns, secret.target_name) for ns in namespaces}
    if more <= set(status.copies or ()):
        return status
    return replace(status, copies=tuple(sorted(set(status.copies or ()) | more)))


def accepted_rules(secret: DecentralizedSecret, namespace_uid: str | None) -> frozenset[bytes]:
    """The access rules a committed version may be bound to for its values to be written
    where the spec says now: none (dealt by the operator, or sealed before rules were
    bound), or the spec's target and access, sealed with this namespace's uid or offline
    without one. Anything else was sealed for a spec edited since."""
    return frozenset(
        {b"", AccessRule.of(secret, None).digest(), AccessRule.of(secret, namespace_uid).digest()}
    )


def materialize(
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    versions: Mapping[str, int | None],
    *,
    conflicts: Sequence[str] = (),
) -> Materialize | None:
    """Which target Secrets to write (``versions``: what our copy holds in each namespace
    it may be written in), or None when current; ``conflicts``: namespaces where
    another's Secret holds the name."""
    stale = tuple(
        ns for ns, held in versions.items() if ns not in conflicts and held != status.version
    )
    if not stale:
        return None
    changed, down = key_changed(status, views), _down(status, views)
    sources = tuple(
        views[n.name]
        for n in status.nodes or ()
        if n.name in views and n.name not in changed and n.name not in down
    )
    return Materialize(stale, sources)


def report(
    secret: DecentralizedSecret,
    status: SecretStatus,
    views: Mapping[str, NodeView],
    now: datetime,
    collected: Collected | None,
    *,
    refused: Sequence[Wait] = (),
) -> Report:
    """Health of the committed version, after a collection when one was made; Ready is
    False while the target cannot go everywhere the spec asks (``refused``: why)."""
    version = status.version
    assert version is not None
    nodes = status.nodes or ()
    changed, down = key_changed(status, views), _down(status, views)
    bad = {b.node for b in status.bad_shares or () if b.version == version}
    events: list[Event] = []
    materialized: Event | None = None
    status = replace(
        status,
        shares_reachable=len(nodes) - len(set(down) | set(changed)),
        observed_generation=secret.generation,
    )
    if collected is not None:
        bad |= set(collected.bad)
        if collected.bad:
            status, blamed = _blame(status, collected.bad, now)
            events += blamed
        if collected.data is None and collected.other_rule:
            message = messages.RESEAL_REQUIRED.format(version=version)
            ready = _condition(
                ConditionType.READY, False, Reason.RESEAL_REQUIRED, message, now, secret.generation
            )
            wait = Wait(Reason.RESEAL_REQUIRED, message)
            return Report(_with(status, [ready]), tuple(events), wait=wait)
        if collected.data is None:
            missing = sorted(set(collected.unreachable) | set(collected.bad) | set(down))
            message = messages.TOO_FEW_SHARES.format(
                threshold=secret.spec.threshold, version=version, nodes=", ".join(missing)
            )
            status = replace(
                status,
                shares_reachable=len(nodes) - len(set(missing) | set(changed)),
                nodes=_states(nodes, changed, missing, bad),
            )
            unreachable = [
                _condition(kind, value, Reason.NODES_UNREACHABLE, message, now, secret.generation)
                for kind, value in ((ConditionType.READY, False), (ConditionType.DEGRADED, True))
            ]
            wait = Wait(Reason.NODES_UNREACHABLE, message)
            return Report(_with(status, unreachable), tuple(events), wait=wait)
        status = replace(status, last_collection_time=now)
        text = messages.MATERIALIZED.format(target=secret.target_name, version=version)
        materialized = Event("Normal", "Materialized", text)
    status = replace(status, nodes=_states(nodes, changed, down, bad))
    healthy = _with(status, _serving(secret, status, changed, down, now))
    retire = materialized is not None and version > 1
    if refused:
        wait = Wait(refused[0].reason, "; ".join(r.message for r in refused))
        ready = _condition(
            ConditionType.READY, False, wait.reason, wait.message, now, secret.generation
        )
        return Report(_with(healthy, [ready]), tuple(events), materialized, wait, retire)
    return Report(healthy, tuple(events), materialized, retire=retire)


def _blame(
    status: SecretStatus, bad: Sequence[str], now: datetime
) -> tuple[SecretStatus, list[Event]]:
    """Name nodes that sent a bad share: in status (the latest entries) and in Events."""
    version = status.version
    assert version is not None
    recorded = (*(status.bad_shares or ()), *(BadShare(n, version, now) for n in bad))
    events = [
        Event("Warning", "BadShare", messages.BAD_SHARE.format(node=n, version=version))
        for n in bad
    ]
    return replace(status, bad_shares=recorded[-BAD_SHARES_KEPT:]), events


def _serving(
    secret: DecentralizedSecret,
    status: SecretStatus,
    changed: Sequence[str],
    down: Sequence[str],
    now: datetime,
) -> list[Condition]:
    """Ready and Distributed True; Degraded names changed keys first, then nodes down."""
    version, nodes, generation = status.version, status.nodes or (), secret.generation
    if changed:
        degraded = _condition(
            ConditionType.DEGRADED,
            True,
            Reason.NODE_KEY_CHANGED,
            messages.KEY_CHANGED.format(nodes=", ".join(changed)),
            now,
            generation,
        )
    elif down:
        degraded = _condition(
            ConditionType.DEGRADED,
            True,
            Reason.NODES_UNREACHABLE,
            messages.NODES_DOWN.format(
                nodes=", ".join(down),
                reachable=status.shares_reachable,
                shares=len(nodes),
                threshold=secret.spec.threshold,
            ),
            now,
            generation,
        )
    else:
        degraded = _condition(
            ConditionType.DEGRADED, False, Reason.COMMITTED, messages.HEALTHY, now, generation
        )
    return [
        _condition(
            ConditionType.READY,
            True,
            Reason.COMMITTED,
            messages.READY.format(target=secret.target_name, version=version),
            now,
            generation,
        ),
        _condition(
            ConditionType.DISTRIBUTED,
            True,
            Reason.COMMITTED,
            messages.STORED.format(version=version, shares=len(nodes)),
            now,
            generation,
        ),
        degraded,
    ]


def key_changed(status: SecretStatus, views: Mapping[str, NodeView]) -> list[str]:
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


def merge_patch(before: SecretStatus, after: SecretStatus) -> dict[str, Any]:
    """The merge patch that turns status ``before`` into ``after`` (None deletes a field)."""
    old, new = before.to_dict(), after.to_dict()
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch


def _down(status: SecretStatus, views: Mapping[str, NodeView]) -> list[str]:
    """Chosen nodes that are not usable now (not registered, not Ready, or stale)."""
    return [n.name for n in status.nodes or () if not (n.name in views and views[n.name].usable)]


def _states(
    nodes: Sequence[NodeStatus], changed: Sequence[str], down: Sequence[str], bad: set[str]
) -> tuple[NodeStatus, ...]:
    return tuple(replace(n, state=_node_state(n.name, changed, down, bad)) for n in nodes)


def _node_state(name: str, changed: Sequence[str], down: Sequence[str], bad: set[str]) -> NodeState:
    if name in changed:
        return NodeState.KEY_CHANGED
    if name in bad:
        return NodeState.BAD_SHARE
    return NodeState.UNREACHABLE if name in down else NodeState.STORED


def _condition(
    kind: ConditionType,
    value: bool,
    reason: Reason,
    message: str,
    now: datetime,
    generation: int | None,
) -> Condition:
    return Condition(
        type=str(kind),
        status=ConditionStatus.TRUE if value else ConditionStatus.FALSE,
        reason=str(reason),
        message=message,
        last_transition_time=now,
        observed_generation=generation,
    )


def _with(status: SecretStatus, conditions: Iterable[Condition]) -> SecretStatus:
    """``status`` with each condition set (a transition time kept while its status holds)."""
    current: Sequence[Condition] = status.conditions or ()
    for condition in conditions:
        current = set_condition(current, condition)
    return replace(status, conditions=tuple(current))
