"""Parse and check the paths and queries of the share-node API.

Bodies are the core's wire format (:mod:`kuorum.nodeapi`). Each failure names the field
and what a valid value looks like; nothing here echoes more than a short prefix of a
path segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kuorum.models import is_dns_label, is_dns_subdomain
from kuorum.node.errors import BadRequest


@dataclass(frozen=True)
class Slot:
    """Where a share lives: one version of one DecentralizedSecret."""

    namespace: str
    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} version {self.version}"


def secret_ref(namespace: str, name: str) -> tuple[str, str]:
    """Check a namespace and a DecentralizedSecret name from the path."""
    if not is_dns_label(namespace):
        raise BadRequest(f"namespace {namespace[:64]!r} is not a valid Kubernetes namespace")
    if not is_dns_subdomain(name):
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


def int_query(query: Any, field: str, *, minimum: int = 0) -> int:
    """An integer query parameter, e.g. ``?start=0``."""
    value = query.get(field)
    if value is None or not value.isdigit() or int(value) < minimum:
        raise BadRequest(f"query parameter {field!r} must be an integer >= {minimum}")
    return int(value)
