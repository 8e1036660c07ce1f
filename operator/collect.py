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

from kuorum import sharing
from kuorum.envelope import (
    EncryptionPrivateKey,
    ShareContext,
)
from kuorum.kube.nodeclient import NodeError, Source
from kuorum.nodeapi import Released
from kuorum.releases import check_share, open_payload

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
                share = check_share(
                    released, ephemeral, context, source.signing_key, commitments_digest
                )
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
    data = None
    if commitments is not None and len(valid) >= threshold:
        data = open_payload(
            list(valid.values()),
            commitments,
            payloads,
            namespace=namespace,
            name=name,
            version=version,
        )
    return Collected(data, tuple(bad), tuple(unreachable), tuple(other_rule))
