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

MAX_DIGITS = 18
"""Longest integer in a path or query: it fits int64 (and SQLite), versions and ledger
indices never get near it, and ``int()`` never sees thousands of digits."""
MAX_INTEGER = 10**MAX_DIGITS - 1


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
    number = _integer(version)
    if number is None or number < 1:
        raise BadRequest(
            f"version {version[:20]!r} of {namespace}/{name} must be an integer "
            f"from 1 to {MAX_INTEGER}"
        )
    return Slot(namespace, name, number)


def int_query(query: Any, field: str, *, minimum: int = 0) -> int:
    """An integer query parameter, e.g. ``?start=0``."""
    value = _integer(query.get(field))
    if value is None or value < minimum:
        raise BadRequest(
            f"query parameter {field!r} must be an integer from {minimum} to {MAX_INTEGER}"
        )
    return value


def _integer(text: str | None) -> int | None:
    """``text`` as an integer if it is 1 to :data:`MAX_DIGITS` ASCII digits, else None.

    ``str.isdigit`` alone passes superscripts such as '²' (``int()`` then raises) and
    other scripts' digits (``int()`` reads them).
    """
    if text is None or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
