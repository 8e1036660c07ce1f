"""The share-node API's wire format (v1): every request and answer body, both ways.

The node parses requests and writes answers with these types; the operator writes
requests and parses answers with the same ones, so a field is named and encoded in one
place. Binary fields are standard base64. A malformed body raises :class:`WireError`
naming the field, never its content (some fields carry sealed share material).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kuorum import b64
from kuorum.accessrule import AccessRule, InvalidRule
from kuorum.envelope import RULE_BYTES
from kuorum.errors import KuorumError

REASON_LIMIT = 256
"""Longest ``reason`` of a release: it goes on the ledger."""

Json = dict[str, Any]


class WireError(KuorumError):
    """A request or answer body that does not have the API's shape (names the field)."""


def _object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise WireError(f"the {what} must be a JSON object")
    return body


def _field(body: Mapping[str, Any], field: str, kind: type) -> Any:
    value = body.get(field)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise WireError(f"field {field!r} is missing or not a {kind.__name__}")
    return value


def _binary(body: Mapping[str, Any], field: str) -> bytes:
    return b64.decode(body.get(field), f"field {field!r}", WireError)


@dataclass(frozen=True, repr=False)
class ShareBody:
    """A sealed share with what it is checked against: the body of a store (sealed to the
    node) and the answer of a release (re-sealed to the caller's ephemeral key)."""

    index: int
    threshold: int
    sealed_share: bytes
    commitments: bytes
    payload: bytes
    rule: bytes = b""
    """The access rule digest the share is bound to (:meth:`AccessRule.digest`); empty:
    none. Sent only when set, so unbound bodies are what they always were."""
    access_rule: AccessRule | None = None
    """The rule itself, sent with a store whose ``rule`` is set: the node checks it against
    the digest and, with delivery Pod, every pod against it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, threshold={self.threshold})"

    def to_json(self) -> Json:
        return {
            "index": self.index,
            "threshold": self.threshold,
            "sealedShare": b64.encode(self.sealed_share),
            "commitments": b64.encode(self.commitments),
            "payload": b64.encode(self.payload),
            **({"rule": b64.encode(self.rule)} if self.rule else {}),
            **({"accessRule": self.access_rule.to_json()} if self.access_rule else {}),
        }

    @classmethod
    def from_json(cls, body: object) -> ShareBody:
        data = _object(body, "body")
        rule = _binary(data, "rule") if "rule" in data else b""
        if len(rule) not in (0, RULE_BYTES):
            raise WireError(f"field 'rule' must be a {RULE_BYTES}-byte digest when present")
        try:
            access_rule = AccessRule.from_json(data["accessRule"]) if "accessRule" in data else None
        except InvalidRule as error:
            raise WireError(str(error)) from None
        return cls(
            index=_field(data, "index", int),
            threshold=_field(data, "threshold", int),
            sealed_share=_binary(data, "sealedShare"),
            commitments=_binary(data, "commitments"),
            payload=_binary(data, "payload"),
            rule=rule,
            access_rule=access_rule,
        )


StoreRequest = ShareBody
"""Body of ``PUT /v1/shares/{namespace}/{name}/{version}``."""
Released = ShareBody
"""Answer of ``POST .../release``."""


@dataclass(frozen=True)
class ReleaseRequest:
    """Body of ``POST .../release``: the caller's ephemeral HPKE public key and why."""

    recipient_key: bytes
    kem: str
    reason: str

    def to_json(self) -> Json:
        return {
            "recipientKey": b64.encode(self.recipient_key),
            "kem": self.kem,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, body: object) -> ReleaseRequest:
        data = _object(body, "body")
        reason = _field(data, "reason", str)
        if not reason or len(reason) > REASON_LIMIT or not reason.isprintable():
            raise WireError(
                f"field 'reason' must be 1 to {REASON_LIMIT} printable characters "
                "saying why the share is released (it goes on the ledger)"
            )
        return cls(
            recipient_key=_binary(data, "recipientKey"),
            kem=_field(data, "kem", str),
            reason=reason,
        )


@dataclass(frozen=True)
class SignedReceipt:
    """Answer of a store: the canonical receipt object and the node's signature over it."""

    receipt: Mapping[str, Any]
    signature: bytes

    def to_json(self) -> Json:
        return {"receipt": dict(self.receipt), "signature": b64.encode(self.signature)}

    @classmethod
    def from_json(cls, body: object) -> SignedReceipt:
        data = _object(body, "store answer")
        return cls(_field(data, "receipt", dict), _binary(data, "signature"))


@dataclass(frozen=True)
class HeldVersion:
    """One entry of ``GET /v1/shares/{namespace}/{name}``: no share material."""

    version: int
    index: int
    receipt: SignedReceipt

    def to_json(self) -> Json:
        return {"version": self.version, "index": self.index, **self.receipt.to_json()}

    @classmethod
    def from_json(cls, body: object) -> HeldVersion:
        data = _object(body, "held entry")
        return cls(
            _field(data, "version", int), _field(data, "index", int), SignedReceipt.from_json(data)
        )


def held_to_json(held: Sequence[HeldVersion]) -> list[Json]:
    """The list answer of ``GET /v1/shares/{namespace}/{name}``."""
    return [h.to_json() for h in held]


def held_from_json(body: object) -> list[HeldVersion]:
    if not isinstance(body, list):
        raise WireError("the list of held versions must be a JSON array")
    return [HeldVersion.from_json(item) for item in body]


@dataclass(frozen=True)
class Deliverable:
    """Answer of ``GET /v1/deliveries/{namespace}/{name}``: the versions this node would
    deliver to the asking pod (its own check of the pod against each version's rule), each
    with its threshold, so the pod asks only for a version enough nodes list."""

    versions: Mapping[int, int]
    """Threshold by version."""

    def to_json(self) -> Json:
        return {
            "versions": [{"version": v, "threshold": t} for v, t in sorted(self.versions.items())]
        }

    @classmethod
    def from_json(cls, body: object) -> Deliverable:
        listed = _object(body, "deliveries answer").get("versions")
        if not isinstance(listed, list):
            raise WireError("field 'versions' must be a list")
        entries = [_object(item, "versions[]") for item in listed]
        return cls({_field(e, "version", int): _field(e, "threshold", int) for e in entries})


@dataclass(frozen=True)
class Destroyed:
    """Answer of a DELETE: the versions erased (maybe none)."""

    versions: tuple[int, ...]

    def to_json(self) -> Json:
        return {"destroyed": list(self.versions)}

    @classmethod
    def from_json(cls, body: object) -> Destroyed:
        return cls(_versions(_object(body, "destroy answer"), "destroyed"))


def _versions(data: Mapping[str, Any], field: str) -> tuple[int, ...]:
    versions = data.get(field, [])
    if not isinstance(versions, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in versions
    ):
        raise WireError(f"field {field!r} must be a list of versions")
    return tuple(versions)
