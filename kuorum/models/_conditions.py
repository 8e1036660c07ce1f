"""Condition types, reasons and node states as named constants, so the operator, the
status printers, the Argo CD health check and the docs spell them one way."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ConditionType(StrEnum):
    """The conditions a DecentralizedSecret (and a ShareNode: Ready only) reports."""

    READY = "Ready"
    """The target Secret holds the current version."""
    DISTRIBUTED = "Distributed"
    """Every chosen node stored the current version's share."""
    DEGRADED = "Degraded"
    """Something needs attention although the secret may still be served."""


class ConditionStatus(StrEnum):
    """metav1.ConditionStatus."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Reason(StrEnum):
    """Why a condition has its status (CamelCase, as metav1.Condition requires)."""

    COMMITTED = "Committed"
    """A version is stored on every chosen node."""
    MATERIALIZED = "Materialized"
    """The target Secret was written from t verified shares."""
    DISTRIBUTING = "Distributing"
    """A version is being sent to the nodes (two-phase commit in progress)."""
    ROTATING = "Rotating"
    """A rotation is due or in progress; the old version still serves."""
    WAITING_FOR_NODES = "WaitingForNodes"
    """Fewer ShareNodes match spec.nodeSelector than spec.shares."""
    NODES_UNREACHABLE = "NodesUnreachable"
    """Some chosen nodes did not answer."""
    NOT_ENOUGH_SHARES = "NotEnoughShares"
    """Fewer than spec.threshold valid shares could be collected."""
    BAD_SHARES = "BadShares"
    """A node returned a share that failed verification against the commitments."""
    NODE_KEY_CHANGED = "NodeKeyChanged"
    """A node's registered key differs from the one pinned when its share was sent."""
    UNTRUSTED_SEALER = "UntrustedSealer"
    """spec.source.sealed was sealed with a key the operator is not told to trust."""
    RESEAL_REQUIRED = "ResealRequired"
    """spec.target or spec.access changed since the version was sealed: re-seal to apply."""
    NAMESPACE_CHANGED = "NamespaceChanged"
    """spec.source.sealed was sealed for a namespace of this name that no longer exists."""
    NOT_GRANTED = "NotGranted"
    """A namespace in spec.access.namespaces has no DeliveryGrant for this secret."""
    FORBIDDEN_NAMESPACE = "ForbiddenNamespace"
    """spec.access names a system namespace, Kuorum's own or one the operator does not serve."""
    TARGET_CONFLICT = "TargetConflict"
    """A Secret of the target's name exists that Kuorum did not create: never touched."""
    SOURCE_NOT_FOUND = "SourceNotFound"
    """spec.source.fromSecret names a Secret that does not exist."""
    INVALID_SPEC = "InvalidSpec"
    """The spec cannot be acted on (details in the message)."""
    HEALTHY = "Healthy"
    """Degraded is False: nothing needs attention."""
    DELETING = "Deleting"
    """The resource is being deleted and its shares destroyed."""
    SERVING = "Serving"
    """A ShareNode accepts requests."""


class NodeState(StrEnum):
    """State of one chosen node in ``status.nodes[]``."""

    STORED = "Stored"
    PENDING = "Pending"
    UNREACHABLE = "Unreachable"
    BAD_SHARE = "BadShare"
    KEY_CHANGED = "KeyChanged"


def is_ready(obj: Mapping[str, Any]) -> bool:
    """Whether a DecentralizedSecret or ShareNode object, as the apiserver returns it, says
    Ready=True (read from the raw object, so it works on one that no longer parses)."""
    ready = _ready(obj)
    return ready is not None and ready.get("status") == ConditionStatus.TRUE


def ready_reason(obj: Mapping[str, Any]) -> str | None:
    """The reason code of the object's Ready condition (never its message), if any."""
    ready = _ready(obj)
    reason = ready.get("reason") if ready is not None else None
    return reason if isinstance(reason, str) and reason else None


def _ready(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    found = (
        c
        for c in conditions or ()
        if isinstance(c, Mapping) and c.get("type") == ConditionType.READY
    )
    return next(found, None)
