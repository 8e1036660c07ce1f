"""What the webhook needs to know about one DecentralizedSecret, read from the resource.

Kept apart from the cache so admission, rollouts and tests share one reading of the
resource, and so the parsing rules stay those of ``kuorum.models``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kuorum.models import (
    Access,
    DecentralizedSecret,
    Delivery,
    InvalidSpec,
    is_ready,
    ready_reason,
)


@dataclass(frozen=True)
class SecretView:
    """One DecentralizedSecret as admission sees it; holds no secret data."""

    namespace: str
    name: str
    target: str
    """Name of the materialized Secret (in the secret's namespace and each allowed one)."""
    access: Access | None
    ready: bool
    version: int | None
    invalid: str | None = None
    """Why the spec cannot be read (the apiserver's schema should prevent it); None if fine."""
    reason: str | None = None
    """The Ready condition's reason code (e.g. NotGranted); never its message."""
    delivery: Delivery = Delivery.SECRET
    nodes: tuple[str, ...] = ()
    """The share nodes of the committed version (``status.nodes``): with delivery Pod, the
    nodes a pod gets a token for."""


def view(obj: Mapping[str, Any]) -> SecretView:
    """Read a DecentralizedSecret object (as the API returns it) into a SecretView."""
    metadata = obj.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    status = obj.get("status") or {}
    version = status.get("version")
    version = version if isinstance(version, int) else None
    try:
        resource = DecentralizedSecret.from_object(obj)
    except InvalidSpec as error:
        return SecretView(namespace, name, name, None, False, version, invalid=str(error))
    return SecretView(
        namespace,
        name,
        resource.target_name,
        resource.spec.access,
        is_ready(obj),
        version,
        reason=ready_reason(obj),
        delivery=resource.spec.delivery,
        nodes=_nodes(obj),
    )


def _nodes(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """``status.nodes[].name``, read from the raw object like :func:`is_ready`."""
    status = obj.get("status")
    nodes = status.get("nodes") if isinstance(status, Mapping) else None
    listed = nodes if isinstance(nodes, list) else []
    return tuple(
        node["name"]
        for node in listed
        if isinstance(node, Mapping) and isinstance(node.get("name"), str)
    )
