"""Status shapes the operator and the nodes write, with ``to_dict()`` in the CRD's JSON names.

Every field here has a place in the CRD status schema (``_schema``): the apiserver
prunes unknown status fields, so a field missing there would silently vanish.
``to_dict()`` leaves unset (None) fields out, so the result suits a merge patch;
``from_dict()`` reads a status back (the operator keeps pinned key fingerprints and the
pending version there), treating absent fields as unset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from kuorum.models._conditions import ConditionStatus, NodeState

T = TypeVar("T")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as metav1.Time serializes."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Read an RFC 3339 time back (``Z`` or an offset; fractions of seconds allowed)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return moment.astimezone(UTC)


def _compact(pairs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pairs.items() if v is not None}


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _read_time(text: object) -> datetime | None:
    return parse_time(text) if isinstance(text, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _each(values: object, read: Callable[[Mapping[str, Any]], T]) -> tuple[T, ...] | None:
    return None if not isinstance(values, list) else tuple(read(v) for v in values)


@dataclass(frozen=True)
class Condition:
    """A metav1.Condition."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    last_transition_time: datetime
    observed_generation: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        """Read one condition from a status (as written by :meth:`to_dict`)."""
        generation = data.get("observedGeneration")
        return cls(
            str(data["type"]),
            ConditionStatus(data["status"]),
            str(data["reason"]),
            str(data.get("message", "")),
            parse_time(data["lastTransitionTime"]),
            generation if isinstance(generation, int) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return _compact(
            {
                "type": self.type,
                "status": str(self.status),
                "reason": self.reason,
                "message": self.message,
                "lastTransitionTime": format_time(self.last_transition_time),
                "observedGeneration": self.observed_generation,
            }
        )


def set_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """Replace the condition of ``new.type``, keeping its lastTransitionTime when the
    status did not change (as meta.SetStatusCondition does)."""
    out = []
    for old in conditions:
        if old.type != new.type:
            out.append(old)
        elif old.status == new.status:
            new = replace(new, last_transition_time=old.last_transition_time)
    out.append(new)
    return sorted(out, key=lambda c: c.type)


@dataclass(frozen=True)
class NodeStatus:
    """One chosen node as the secret sees it (``status.nodes[]``)."""

    name: str
    index: int
    state: NodeState
    message: str = ""
    signing_key_fingerprint: str | None = None
    encryption_key_fingerprint: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeStatus:
        """Read one ``status.nodes[]`` entry."""
        return cls(
            str(data["name"]),
            int(data["index"]),
            NodeState(data["state"]),
            str(data.get("message", "")),
            _str(data.get("signingKeyFingerprint")),
            _str(data.get("encryptionKeyFingerprint")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return _compact(
            {
                "name": self.name,
                "index": self.index,
                "state": str(self.state),
                "message": self.message,
                "signingKeyFingerprint": self.signing_key_fingerprint,
                "encryptionKeyFingerprint": self.encryption_key_fingerprint,
            }
        )


@dataclass(frozen=True)
class BadShare:
    """A share that failed verification: which node, which version, when."""

    node: str
    version: int
    time: datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BadShare:
        """Read one ``status.badShares[]`` entry."""
        return cls(str(data["node"]), int(data["version"]), parse_time(data["time"]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"node": self.node, "version": self.version, "time": format_time(self.time)}


@dataclass(frozen=True, order=True)
class Copy:
    """A target Secret the operator wrote, so that it can delete exactly its own."""

    namespace: str
    name: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Copy:
        """Read one ``status.copies[]`` entry."""
        return cls(str(data["namespace"]), str(data["name"]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class LedgerSummary:
    """How many ledger entries concern this secret and when a checkpoint last covered them."""

    entries: int
    last_checkpoint: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerSummary:
        """Read ``status.ledger``."""
        return cls(int(data.get("entries", 0)), _read_time(data.get("lastCheckpoint")))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return _compact({"entries": self.entries, "lastCheckpoint": _time(self.last_checkpoint)})


@dataclass(frozen=True)
class SecretStatus:
    """``status`` of a DecentralizedSecret; None fields are left out of the patch."""

    conditions: tuple[Condition, ...] | None = None
    observed_generation: int | None = None
    version: int | None = None
    pending_version: int | None = None
    next_rotation_time: datetime | None = None
    last_collection_time: datetime | None = None
    shares_reachable: int | None = None
    commitments_digest: str | None = None
    nodes: tuple[NodeStatus, ...] | None = None
    bad_shares: tuple[BadShare, ...] | None = None
    ledger: LedgerSummary | None = None
    copies: tuple[Copy, ...] | None = None
    """Every target Secret written and not yet deleted (recorded before it is written)."""

    @property
    def next_version(self) -> int:
        """The number a new dealing takes: above every committed and attempted one.

        An attempt that did not reach every node is never revived, so its number is
        never dealt again (a crash cannot mix shares of two dealings).
        """
        return max(self.version or 0, self.pending_version or 0) + 1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecretStatus:
        """Read a DecentralizedSecret's ``status`` (absent fields stay None)."""
        ledger = data.get("ledger")
        return cls(
            conditions=_each(data.get("conditions"), Condition.from_dict),
            observed_generation=_int(data.get("observedGeneration")),
            version=_int(data.get("version")),
            pending_version=_int(data.get("pendingVersion")),
            next_rotation_time=_read_time(data.get("nextRotationTime")),
            last_collection_time=_read_time(data.get("lastCollectionTime")),
            shares_reachable=_int(data.get("sharesReachable")),
            commitments_digest=_str(data.get("commitmentsDigest")),
            nodes=_each(data.get("nodes"), NodeStatus.from_dict),
            bad_shares=_each(data.get("badShares"), BadShare.from_dict),
            ledger=LedgerSummary.from_dict(ledger) if isinstance(ledger, Mapping) else None,
            copies=_each(data.get("copies"), Copy.from_dict),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, for ``patch_namespaced_custom_object_status``."""
        return _compact(
            {
                "conditions": _list(self.conditions),
                "observedGeneration": self.observed_generation,
                "version": self.version,
                "pendingVersion": self.pending_version,
                "nextRotationTime": _time(self.next_rotation_time),
                "lastCollectionTime": _time(self.last_collection_time),
                "sharesReachable": self.shares_reachable,
                "commitmentsDigest": self.commitments_digest,
                "nodes": _list(self.nodes),
                "badShares": _list(self.bad_shares),
                "ledger": self.ledger.to_dict() if self.ledger else None,
                "copies": _list(self.copies),
            }
        )


@dataclass(frozen=True)
class CheckpointSummary:
    """A node's latest ledger checkpoint: size, root hash and the signed note text."""

    size: int
    root_hash: str
    note: str | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckpointSummary:
        """Read ``status.checkpoint``."""
        return cls(int(data["size"]), str(data["rootHash"]), _str(data.get("note")))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return _compact({"size": self.size, "rootHash": self.root_hash, "note": self.note})


@dataclass(frozen=True)
class ShareNodeStatus:
    """``status`` of a ShareNode, written by the node's heartbeat."""

    conditions: tuple[Condition, ...] | None = None
    shares_held: int | None = None
    ledger_size: int | None = None
    checkpoint: CheckpointSummary | None = None
    last_heartbeat_time: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShareNodeStatus:
        """Read a ShareNode's ``status`` (absent fields stay None)."""
        checkpoint = data.get("checkpoint")
        return cls(
            conditions=_each(data.get("conditions"), Condition.from_dict),
            shares_held=_int(data.get("sharesHeld")),
            ledger_size=_int(data.get("ledgerSize")),
            checkpoint=CheckpointSummary.from_dict(checkpoint)
            if isinstance(checkpoint, Mapping)
            else None,
            last_heartbeat_time=_read_time(data.get("lastHeartbeatTime")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return _compact(
            {
                "conditions": _list(self.conditions),
                "sharesHeld": self.shares_held,
                "ledgerSize": self.ledger_size,
                "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
                "lastHeartbeatTime": _time(self.last_heartbeat_time),
            }
        )


def _list(values: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    return None if values is None else [v.to_dict() for v in values]
