"""Share nodes as the operator's planner sees them, built from key pairs of our own, and
sealed sources sealed to them: shared by the unit tests of the operator's decisions."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum.accessrule import AccessRule
from kuorum.envelope import NodeKeys
from kuorum.models import DEFAULT_SECRET_TYPE, Access, Sealed
from kuorum.placement import NodeView
from kuorum.sealing import Recipient, seal


def keyed_view(name: str, keys: NodeKeys, *, zone: str = "z", usable: bool = True) -> NodeView:
    """The view of a Ready ShareNode that publishes ``keys``."""
    public = keys.public()
    return NodeView(
        name=name,
        zone=zone,
        labels={},
        endpoint=f"https://{name}:8443",
        certificate="",
        signing_key=public.signing.public_bytes_raw(),
        encryption_kem=public.encryption.kem,
        encryption_key=public.encryption.to_bytes(),
        usable=usable,
    )


def sealed_to(
    keys: Mapping[str, NodeKeys],
    version: int,
    *,
    threshold: int = 2,
    access: Access | None = None,
    namespace_uid: str | None = None,
) -> Sealed:
    """``{"k": b"v"}`` of ns/db sealed as ``version`` to the nodes of ``keys``, for target
    Secret db (Opaque) and ``access``, as ``kuorum seal`` would."""
    rule = AccessRule("db", DEFAULT_SECRET_TYPE, access, namespace_uid).digest()
    return seal(
        {"k": b"v"},
        namespace="ns",
        name="db",
        version=version,
        threshold=threshold,
        recipients=[Recipient(n, k.public()) for n, k in keys.items()],
        sealer=ed25519.Ed25519PrivateKey.generate(),
        rule=rule,
        namespace_uid=namespace_uid,
    )
