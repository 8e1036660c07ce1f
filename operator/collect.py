"""Gather t valid shares of a version from the nodes, and open the payload.

t of the chosen nodes, drawn at random, are asked at once, each share sealed to a fresh
ephemeral key of this collection, and one more node for each that does not answer or
sends a bad share: no more shares leave their nodes than are needed, a release is logged
only where one was asked for, and a node that lies is asked sooner or later.

A share is valid only if the node's signature verifies under the key pinned when the
version was dealt, its commitments are the pinned ones (by digest), and it verifies
against them. A node that fails a check is reported as bad, by name.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import (
    EncryptionPrivateKey,
    EnvelopeError,
    SealedShare,
    ShareContext,
    decrypt_payload,
    open_share,
)
from kuorum.nodeapi import Released
from kuorum.operator.nodeclient import NodeClient, NodeError

RELEASE_REASON = "materialize the target Secret"
_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True)
class Collected:
    """The outcome of one collection; ``data`` is None when fewer than t shares were valid."""

    data: Mapping[str, bytes] | None = field(repr=False)
    bad: tuple[str, ...]
    """Nodes that answered with a share that failed a check."""
    unreachable: tuple[str, ...]
    """Nodes that did not answer with a share (down, refused, missing)."""
    other_rule: tuple[str, ...] = ()
    """Nodes whose share is bound to an access rule the caller did not accept: the version
    was sealed for another target or access than the spec names now."""


@dataclass(frozen=True)
class Source:
    """One node to ask, with the signing key pinned for it."""

    client: NodeClient
    signing_key: bytes


async def collect(
    sources: Sequence[Source],
    *,
    namespace: str,
    name: str,
    version: int,
    threshold: int,
    commitments_digest: str,
    identity: str,
    rules: frozenset[bytes],
) -> Collected:
    """Ask t nodes, and one more for each that fails or lies, until t shares are valid.

    A share bound to an access rule not in ``rules`` is not used, and no other node is
    asked for it: every node holds the same rule, so asking more would only release more.
    """
    ephemeral = EncryptionPrivateKey.generate()
    public = ephemeral.public_key()
    # A random t: load spreads over the nodes, and a node that lies is asked sooner or later.
    waiting = _RANDOM.sample(list(sources), len(sources))
    tasks: dict[asyncio.Task[Released], Source] = {}
    pending: set[asyncio.Task[Released]] = set()

    def ask_next() -> None:
        if waiting:
            source = waiting.pop()
            request = source.client.release(
                namespace,
                name,
                version,
                key=public.to_bytes(),
                kem=public.kem,
                reason=RELEASE_REASON,
            )
            task = asyncio.create_task(request)
            tasks[task] = source
            pending.add(task)

    for _ in range(threshold):
        ask_next()
    valid: dict[int, sharing.Share] = {}
    bad: list[str] = []
    unreachable: list[str] = []
    other_rule: list[str] = []
    commitments: sharing.Commitments | None = None
    payloads: list[tuple[bytes, bytes]] = []
    try:
        while pending and len(valid) < threshold:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.difference_update(done)
            for task in done:
                source = tasks[task]
                try:
                    released = task.result()
                except NodeError:
                    unreachable.append(source.client.name)
                    ask_next()
                    continue
                if released.rule not in rules:
                    other_rule.append(source.client.name)
                    continue
                context = ShareContext(
                    namespace, name, version, released.index, identity, "release", released.rule
                )
                share = _check(released, ephemeral, context, source.signing_key, commitments_digest)
                if share is None:
                    bad.append(source.client.name)
                    ask_next()
                    continue
                valid[share.index] = share
                commitments = commitments or sharing.Commitments.from_bytes(released.commitments)
                if (released.payload, released.rule) not in payloads:
                    payloads.append((released.payload, released.rule))
    finally:
        for task in pending:
            task.cancel()
        unreachable.extend(tasks[t].client.name for t in pending)
    failed = Collected(None, tuple(bad), tuple(unreachable), tuple(other_rule))
    if commitments is None or len(valid) < threshold:
        return failed
    key = sharing.combine(list(valid.values()), commitments)
    for payload, rule in payloads:  # the AEAD tag tells a node's tampered copy from a true one
        try:
            data = decrypt_payload(
                payload, key, namespace=namespace, name=name, version=version, rule=rule
            )
        except EnvelopeError:
            continue
        return Collected(data, tuple(bad), tuple(unreachable), tuple(other_rule))
    return failed


def _check(
    released: Released,
    ephemeral: EncryptionPrivateKey,
    context: ShareContext,
    signing_key: bytes,
    commitments_digest: str,
) -> sharing.Share | None:
    """The share if every check passes, else None (the node is to blame)."""
    try:
        commitments = sharing.Commitments.from_bytes(released.commitments)
        if commitments.digest() != commitments_digest:
            return None
        share = open_share(
            SealedShare.from_bytes(released.sealed_share),
            recipient=ephemeral,
            context=context,
            sender=ed25519.Ed25519PublicKey.from_public_bytes(signing_key),
        )
    except (EnvelopeError, sharing.SharingError, ValueError):
        return None
    return share if sharing.verify(share, commitments) else None
