"""OpenAPI v3 schema of ShareNode: what a node publishes and the health it reports."""

from __future__ import annotations

import math

from kuorum import names
from kuorum.models._limits import (
    ED25519_PUBLIC_BASE64,
    ENDPOINT_MAX,
    ENDPOINT_PATTERN,
    KEM_PUBLIC_BYTES,
    LABEL_VALUE_MAX,
    LABEL_VALUE_PATTERN,
    PEM_CERTIFICATE_PATTERN,
    PEM_MAX,
    Kem,
)
from kuorum.models._openapi import Schema, integer, obj, resource, rule, string, timestamp
from kuorum.models._schema_common import conditions


def _base64_length(size: int) -> int:
    return 4 * math.ceil(size / 3)


def _encryption_key() -> Schema:
    sizes = {kem: _base64_length(n) for kem, n in KEM_PUBLIC_BYTES.items()}
    expected = " : ".join(f"self.kem == '{kem}' ? {n}" for kem, n in sizes.items()) + " : 0"
    said = " and ".join(f"{KEM_PUBLIC_BYTES[kem]} bytes for {kem}" for kem in sizes)
    return obj(
        "HPKE public key shares are sealed to.",
        {
            "kem": string(
                "Key encapsulation: MLKEM768_X25519 (hybrid post-quantum, default) or X25519.",
                enum=Kem,
            ),
            "publicKey": string(
                "The raw public key (base64).",
                pattern=r"^[A-Za-z0-9+/]*={0,2}$",
                max_length=max(sizes.values()),
            ),
        },
        required=("kem", "publicKey"),
        rules=[
            rule(
                f"size(self.publicKey) == ({expected})",
                f"spec.encryptionKey.publicKey must hold {said}",
                field_path=".publicKey",
            )
        ],
    )


REKEY = (
    "spec.{field} of a ShareNode never changes in place: clients pinned the registered "
    "one. If the node really has a new identity, an administrator re-keys it with "
    "'kuorum nodes rekey NAME'"
)


def _immutable(field: str) -> Schema:
    return rule(
        f"self.{field} == oldSelf.{field}", REKEY.format(field=field), field_path=f".{field}"
    )


def _spec() -> Schema:
    return obj(
        "Where the node is and the keys it is pinned by; written by the node at start.",
        {
            "endpoint": string(
                "HTTPS URL the operator and peers dial.",
                pattern=ENDPOINT_PATTERN,
                max_length=ENDPOINT_MAX,
            ),
            "zone": string(
                "Failure zone, so shares can be spread across zones.",
                pattern=LABEL_VALUE_PATTERN,
                max_length=LABEL_VALUE_MAX,
            ),
            "signingKey": string(
                "Ed25519 public key signing receipts, released shares and "
                "ledger checkpoints (base64).",
                pattern=r"^[A-Za-z0-9+/]{43}=$",
                max_length=ED25519_PUBLIC_BASE64,
            ),
            "encryptionKey": _encryption_key(),
            "tlsCertificate": string(
                "The node's self-signed serving certificate (PEM); clients pin it.",
                pattern=PEM_CERTIFICATE_PATTERN,
                max_length=PEM_MAX,
            ),
        },
        required=("endpoint", "signingKey", "encryptionKey", "tlsCertificate"),
        rules=[_immutable(field) for field in ("signingKey", "encryptionKey", "tlsCertificate")],
    )


def _status() -> Schema:
    return obj(
        "Health reported by the node's heartbeat.",
        {
            "conditions": conditions("Ready"),
            "sharesHeld": integer("Shares this node holds.", minimum=0),
            "ledgerSize": integer("Entries in this node's ledger.", minimum=0),
            "checkpoint": obj(
                "Latest ledger checkpoint.",
                {
                    "size": integer("Tree size the checkpoint commits to.", minimum=0),
                    "rootHash": string("Merkle root hash (base64).", max_length=128),
                    "note": string(
                        "The signed checkpoint (C2SP signed note text), with witness cosignatures.",
                        max_length=16384,
                    ),
                },
            ),
            "lastHeartbeatTime": timestamp("When the node last reported."),
        },
    )


def schema() -> Schema:
    """The whole object schema (``openAPIV3Schema``)."""
    return resource(
        f"{names.NODE_KIND}: one custodian of shares, registered by the node itself.",
        kind=names.NODE_KIND,
        spec=_spec(),
        status=_status(),
    )
