"""DeliveryGrant: a namespace's consent to receive copies of DecentralizedSecrets.

It lives in the namespace that receives, in the style of Gateway API's ReferenceGrant:
whoever may write there says which namespaces (and, optionally, which
DecentralizedSecrets of them) may deliver a target Secret into it. Without one, the
operator writes nothing into a namespace other than the secret's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kuorum.models import _read as read
from kuorum.models._errors import InvalidSpec
from kuorum.models._limits import (
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    MAX_ACCESS_ENTRIES,
)


@dataclass(frozen=True)
class GrantFrom:
    """One sender: a namespace, and one DecentralizedSecret of it or (None) any."""

    namespace: str
    name: str | None = None

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> GrantFrom:
        """Parse one ``spec.from[]`` entry."""
        data = read.obj(data, where, ("namespace", "name"))
        namespace = read.string(
            data,
            "namespace",
            where,
            pattern=DNS_LABEL_PATTERN,
            max_length=DNS_LABEL_MAX,
            hint="the namespace of the DecentralizedSecrets that may deliver here",
        )
        name = (
            read.string(
                data,
                "name",
                where,
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
                hint="a DecentralizedSecret's name",
            )
            if read.present(data, "name")
            else None
        )
        return cls(namespace, name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"namespace": self.namespace, **({"name": self.name} if self.name else {})}


@dataclass(frozen=True)
class DeliveryGrant:
    """Which DecentralizedSecrets may write target Secrets into ``namespace``."""

    namespace: str
    name: str
    senders: tuple[GrantFrom, ...]

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> DeliveryGrant:
        """Parse an object as the API returns it; errors name ``DeliveryGrant ns/name``."""
        metadata = obj.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        try:
            spec = read.obj(obj.get("spec"), "spec", ("from",))
            senders = tuple(
                GrantFrom.from_dict(item, where=path)
                for path, item in read.items(
                    spec, "from", "spec", min_items=1, max_items=MAX_ACCESS_ENTRIES
                )
            )
        except InvalidSpec as error:
            raise error.about(f"DeliveryGrant {namespace}/{name}") from None
        return cls(namespace, name, senders)

    def allows(self, namespace: str, name: str) -> bool:
        """Whether DecentralizedSecret ``namespace/name`` may deliver here."""
        return any(s.namespace == namespace and s.name in (None, name) for s in self.senders)
