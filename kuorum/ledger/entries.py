"""Ledger entries: what a share node records, one Merkle leaf per event.

An entry names an event (store, release, refusal, destruction, ...), when it
happened, which secret version and share slot it touched, who asked and why. It has
no free-form payload on purpose: share material, tokens and keys have no field to
go into. `to_bytes()` is canonical (versioned JSON, sorted keys, no whitespace,
ASCII), and `from_bytes()` accepts only that form, so one event has one leaf hash.
"""

import json
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kuorum.ledger.errors import EntryError
from kuorum.ledger.merkle import leaf_hash
from kuorum.models import UID_PATTERN, is_dns_subdomain

FORMAT_VERSION = 1
"""Version of the canonical encoding, written as field `v`."""

MAX_ACTOR = 256
MAX_REASON = 512
"""Longest actor and reason texts, in characters: a reason says why, it holds no data."""

FORK_EVIDENCE = "evidence of a fork"
"""How the reason of a ``witness.refused`` entry starts when the refused checkpoint was
signed by the log's own key and contradicts what the witness cosigned."""

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z")


class EntryKind(StrEnum):
    """The events a node logs; the value is what the canonical form carries."""

    KEY_CREATED = "key.created"
    """The node generated its signing and encryption keys (first start)."""
    NODE_STARTED = "node.started"
    """The node process started serving."""
    SHARE_STORED = "share.stored"
    """A share of a secret version was verified and stored (new secret or rotation)."""
    SHARE_RELEASED = "share.released"
    """A share was released to the caller, re-sealed to its ephemeral key."""
    SHARE_REFUSED = "share.refused"
    """A store, release or destruction was refused (authentication, policy, conflict)."""
    SHARE_DESTROYED = "share.destroyed"
    """A share was erased (secret deleted, failed dealing, old version retired)."""
    WITNESS_COSIGNED = "witness.cosigned"
    """This node cosigned a peer's checkpoint (actor: the peer's origin)."""
    WITNESS_REFUSED = "witness.refused"
    """This node refused a peer's checkpoint: possible evidence of a forked log."""


@dataclass(frozen=True)
class Entry:
    """One ledger event. Fields that do not apply to `kind` are None."""

    kind: EntryKind
    time: datetime
    """When it happened, timezone-aware; stored as RFC 3339 UTC (passed in, never read)."""
    actor: str
    """Who asked, e.g. system:serviceaccount:kuorum-system:kuorum-operator, or the node."""
    namespace: str | None = None
    name: str | None = None
    version: int | None = None
    index: int | None = None
    """Share index (1..n) of this node in the dealing."""
    reason: str = ""
    """Why, in words a cluster operator can act on; never a secret value."""
    pod: str | None = None
    """``namespace/name`` of the pod a share was delivered to or refused for (delivery Pod)."""
    pod_uid: str | None = None
    """That pod's metadata.uid, so a pod re-created under the same name is another pod."""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EntryKind):
            raise EntryError(f"entry kind {self.kind!r} is not an EntryKind")
        if not isinstance(self.time, datetime) or self.time.utcoffset() is None:
            raise EntryError(f"entry time {self.time!r} must be a timezone-aware datetime")
        _check_text("actor", self.actor, MAX_ACTOR, required=True)
        _check_text("reason", self.reason, MAX_REASON, required=False)
        for field in ("namespace", "name"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and is_dns_subdomain(value)):
                raise EntryError(f"entry {field} {value!r} is not a Kubernetes object name")
        if self.pod is not None:
            namespace, _, name = self.pod.partition("/")
            if not (is_dns_subdomain(namespace) and is_dns_subdomain(name)):
                raise EntryError(f"entry pod {self.pod!r} is not namespace/name of a pod")
        if self.pod_uid is not None and not _UID.fullmatch(self.pod_uid):
            raise EntryError(f"entry pod_uid {self.pod_uid!r} is not a Kubernetes uid")
        for field, low in (("version", 0), ("index", 1)):
            value = getattr(self, field)
            if value is not None and (type(value) is not int or value < low):
                raise EntryError(f"entry {field} {value!r} must be an integer >= {low}")

    def to_bytes(self) -> bytes:
        """Canonical encoding: the bytes that become the Merkle leaf. The pod fields are
        left out when unset, so entries written before they existed keep their bytes."""
        fields: dict[str, Any] = {f.name: getattr(self, f.name) for f in _FIELDS}
        for optional in _OMITTED_WHEN_UNSET:
            if fields[optional] is None:
                del fields[optional]
        fields["kind"] = self.kind.value
        fields["time"] = _format_time(self.time)
        fields["v"] = FORMAT_VERSION
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Entry":
        """Read an entry; anything but the canonical form of a valid entry is an `EntryError`."""
        try:
            fields = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise EntryError("entry is not JSON") from exc
        if not isinstance(fields, dict):
            raise EntryError("entry is not a JSON object")
        if fields.pop("v", None) != FORMAT_VERSION:
            raise EntryError(f"entry format version is not {FORMAT_VERSION}")
        try:
            fields["kind"] = EntryKind(fields["kind"])
            fields["time"] = _parse_time(fields["time"])
            entry = cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise EntryError(f"entry fields are wrong: {exc}") from exc
        if entry.to_bytes() != data:
            raise EntryError("entry is not in canonical form")
        return entry

    def leaf_hash(self) -> bytes:
        """RFC 6962 leaf hash of the canonical bytes."""
        return leaf_hash(self.to_bytes())


_FIELDS = fields(Entry)
_OMITTED_WHEN_UNSET = ("pod", "pod_uid")
_UID = re.compile(UID_PATTERN)


def _check_text(field: str, value: object, limit: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise EntryError(f"entry {field} must be text")
    if required and not value:
        raise EntryError(f"entry {field} is empty")
    if len(value) > limit:
        raise EntryError(f"entry {field} is longer than {limit} characters")
    printable_ascii = value.isascii() and value.isprintable()
    if not printable_ascii and any(unicodedata.category(c).startswith("C") for c in value):
        raise EntryError(f"entry {field} holds control or invisible characters")


def _format_time(time: datetime) -> str:
    utc = time.astimezone(UTC)
    precision = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=precision) + "Z"


def _parse_time(text: object) -> datetime:
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise EntryError(f"entry time {text!r} is not RFC 3339 UTC")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
