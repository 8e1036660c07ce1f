"""Parse and check request bodies and paths of the share-node API.

Each failure names the field and what a valid value looks like; nothing here echoes a
field's content, since some of them carry sealed share material.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from kuorum.node.errors import BadRequest

NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
REASON_LIMIT = 256


@dataclass(frozen=True)
class Slot:
    """Where a share lives: one version of one DecentralizedSecret."""

    namespace: str
    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} version {self.version}"


@dataclass(frozen=True, repr=False)
class StoreRequest:
    """Body of ``PUT /v1/shares/{namespace}/{name}/{version}``."""

    index: int
    threshold: int
    sealed_share: bytes
    commitments: bytes
    payload: bytes

    def __repr__(self) -> str:
        return f"StoreRequest(index={self.index}, threshold={self.threshold})"


@dataclass(frozen=True)
class ReleaseRequest:
    """Body of ``POST .../release``: the caller's ephemeral HPKE public key and why."""

    recipient_key: bytes
    kem: str
    reason: str


def secret_ref(namespace: str, name: str) -> tuple[str, str]:
    """Check a namespace and a DecentralizedSecret name from the path."""
    if not NAMESPACE.match(namespace):
        raise BadRequest(f"namespace {namespace[:64]!r} is not a valid Kubernetes namespace")
    if not NAME.match(name):
        raise BadRequest(f"name {name[:64]!r} is not a valid DecentralizedSecret name")
    return namespace, name


def slot(namespace: str, name: str, version: str) -> Slot:
    """Check a share slot from the path."""
    namespace, name = secret_ref(namespace, name)
    if not version.isdigit() or int(version) < 1:
        raise BadRequest(
            f"version {version[:20]!r} of {namespace}/{name} must be a positive integer"
        )
    return Slot(namespace, name, int(version))


def _field(body: dict[str, Any], field: str, kind: type) -> Any:
    value = body.get(field)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadRequest(f"field {field!r} is missing or not a {kind.__name__}")
    return value


def _binary(body: dict[str, Any], field: str) -> bytes:
    try:
        return base64.b64decode(_field(body, field, str), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequest(f"field {field!r} is not standard base64") from error


def store_request(body: object) -> StoreRequest:
    """Check a store body ``{index, threshold, sealedShare, commitments, payload}``."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return StoreRequest(
        index=_field(body, "index", int),
        threshold=_field(body, "threshold", int),
        sealed_share=_binary(body, "sealedShare"),
        commitments=_binary(body, "commitments"),
        payload=_binary(body, "payload"),
    )


def release_request(body: object) -> ReleaseRequest:
    """Check a release body ``{recipientKey, kem, reason}``."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    reason = _field(body, "reason", str)
    if not reason or len(reason) > REASON_LIMIT or not reason.isprintable():
        raise BadRequest(
            f"field 'reason' must be 1 to {REASON_LIMIT} printable characters "
            "saying why the share is released (it goes on the ledger)"
        )
    return ReleaseRequest(
        recipient_key=_binary(body, "recipientKey"),
        kem=_field(body, "kem", str),
        reason=reason,
    )


def int_query(query: Any, field: str, *, minimum: int = 0) -> int:
    """An integer query parameter, e.g. ``?start=0``."""
    value = query.get(field)
    if value is None or not value.isdigit() or int(value) < minimum:
        raise BadRequest(f"query parameter {field!r} must be an integer >= {minimum}")
    return int(value)
