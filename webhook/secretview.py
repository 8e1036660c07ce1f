"""What the webhook needs to know about one DecentralizedSecret, read from the resource.

Kept apart from the cache so admission, rollouts and tests share one reading of the
resource, and so the parsing rules stay those of ``kuorum.models``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SecretView:
    """One DecentralizedSecret as admission sees it; holds no secret data."""

    namespace: str
    name: str
    target: str
    """Name of the materialized Secret (in the secret's namespace and each allowed one)."""
    access: Any
    ready: bool
    version: int | None


def view(obj: Mapping[str, Any]) -> SecretView:
    """Read a DecentralizedSecret object (as the API returns it) into a SecretView."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = str(metadata.get("name"))
    conditions = status.get("conditions") or []
    version = status.get("version")
    return SecretView(
        namespace=str(metadata.get("namespace")),
        name=name,
        target=str((spec.get("target") or {}).get("name") or name),
        access=spec.get("access") or {},
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        version=version if isinstance(version, int) else None,
    )
