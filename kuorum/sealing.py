"""Seal a secret's values t-of-n to share nodes' public keys: one routine for every source.

``kuorum seal`` runs it offline with a throwaway signing key and prints the result for
Git; the operator runs it for generated and imported values with its dealer key. Either
way the data key exists only inside :func:`seal`. Out come the payload ciphertext, the
public commitments and one share per node, HPKE-sealed to that node and signed by the
sealer: a :class:`~kuorum.models.Sealed` that whoever forwards it cannot open.

A sealed source also binds where its values may go: the digest of its
:class:`~kuorum.accessrule.AccessRule` (target, access rule, namespace uid, delivery) is
part of every share's context and of the payload's associated data, so whoever may edit
the DecentralizedSecret but does not hold the sealer's key cannot send the values anywhere
else: the signatures stop matching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import (
    EnvelopeError,
    NodePublicKeys,
    SealedShare,
    ShareContext,
    check_sealed_share,
    encrypt_payload,
    seal_share,
)
from kuorum.models import Sealed, SealedEntry


@dataclass(frozen=True)
class Recipient:
    """A share node by name, with the public keys its share is sealed to."""

    name: str
    keys: NodePublicKeys


def seal(
    data: Mapping[str, bytes],
    *,
    namespace: str,
    name: str,
    version: int,
    threshold: int,
    recipients: Sequence[Recipient],
    sealer: ed25519.Ed25519PrivateKey,
    rule: bytes = b"",
    namespace_uid: str | None = None,
) -> Sealed:
    """Encrypt ``data`` under a fresh data key and split the key over ``recipients``.

    Share i+1 goes to ``recipients[i]``. Payload and shares are bound to
    ``namespace/name`` at ``version``, and to ``rule`` (an ``AccessRule.digest()``, made
    with ``namespace_uid``) when given: nodes refuse them anywhere else.
    """
    key = sharing.new_data_key()
    payload = encrypt_payload(data, key, namespace=namespace, name=name, version=version, rule=rule)
    dealing = sharing.split(key, threshold, len(recipients))
    entries = []
    for recipient, share in zip(recipients, dealing.shares, strict=True):
        context = ShareContext(namespace, name, version, share.index, recipient.name, "store", rule)
        sealed = seal_share(
            share, recipient=recipient.keys.encryption, context=context, sender=sealer
        )
        entries.append(
            SealedEntry(
                recipient.name, share.index, sealed.to_bytes(), recipient.keys.fingerprint()
            )
        )
    return Sealed(
        version,
        dealing.commitments.to_bytes(),
        payload,
        sealer.public_key().public_bytes_raw(),
        tuple(entries),
        namespace_uid,
    )


@dataclass(frozen=True)
class Misfit:
    """Why one sealed share cannot go to its node as it is now."""

    node: str
    key_changed: bool
    """True when the node now publishes other keys than the share was sealed to."""
    detail: str


def misfits(
    sealed: Sealed,
    *,
    namespace: str,
    name: str,
    keys: Mapping[str, NodePublicKeys],
    rule: bytes,
) -> list[Misfit]:
    """Check, without opening anything, that each share is sealed to its node's current
    keys, for this object, version and ``rule``, and signed by ``sealed.sealer``.

    ``keys`` holds the nodes' published keys by name; shares of nodes missing from it
    are not checked (the caller waits for those nodes).
    """
    sealer = ed25519.Ed25519PublicKey.from_public_bytes(sealed.sealer)
    found = []
    for entry in sealed.shares:
        published = keys.get(entry.node)
        if published is None:
            continue
        current = published.fingerprint()
        if current != entry.node_key_fingerprint:
            detail = f"sealed to keys {entry.node_key_fingerprint}, the node now has {current}"
            found.append(Misfit(entry.node, True, detail))
            continue
        context = ShareContext(
            namespace, name, sealed.version, entry.index, entry.node, "store", rule
        )
        try:
            check_sealed_share(
                SealedShare.from_bytes(entry.sealed_share),
                recipient=published.encryption,
                context=context,
                sender=sealer,
            )
        except EnvelopeError as error:
            detail = (
                f"share {entry.index} was not sealed for {namespace}/{name} version "
                f"{sealed.version} with this spec.target and spec.access: {error}"
            )
            found.append(Misfit(entry.node, False, detail))
    return found
