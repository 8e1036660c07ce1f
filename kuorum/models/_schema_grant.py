"""OpenAPI v3 schema of DeliveryGrant: the namespaces that may deliver into this one."""

from __future__ import annotations

from kuorum import names
from kuorum.models._limits import (
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    MAX_ACCESS_ENTRIES,
)
from kuorum.models._openapi import Schema, array, obj, resource, string


def schema() -> Schema:
    """The ``openAPIV3Schema`` of DeliveryGrant."""
    sender = obj(
        "DecentralizedSecrets that may write their target Secret into this namespace.",
        {
            "namespace": string(
                "Their namespace.", pattern=DNS_LABEL_PATTERN, max_length=DNS_LABEL_MAX
            ),
            "name": string(
                "Only the DecentralizedSecret of this name; absent: any in that namespace.",
                pattern=DNS_SUBDOMAIN_PATTERN,
                max_length=DNS_SUBDOMAIN_MAX,
            ),
        },
        required=("namespace",),
    )
    spec = obj(
        "Who may deliver here. Without a DeliveryGrant that names it, a DecentralizedSecret "
        "of another namespace writes nothing in this one, even if its spec.access lists it.",
        {
            "from": array(
                "Senders; one matching entry of any DeliveryGrant in this namespace is enough.",
                sender,
                max_items=MAX_ACCESS_ENTRIES,
                min_items=1,
            )
        },
        required=("from",),
    )
    return resource(
        f"Consent of this namespace to receive target Secrets of {names.SECRET_KIND}s "
        "from other namespaces (like Gateway API's ReferenceGrant). Removing it deletes "
        "the copies it allowed.",
        kind=names.GRANT_KIND,
        spec=spec,
        status=obj("Not used.", {}),
    )
