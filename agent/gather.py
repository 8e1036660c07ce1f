"""Gather the newest version of one secret from its nodes, as the pod itself.

Each node checks the pod's own token against each version's access rule and lists what
it would deliver. The agent asks every node that lists the newest version for its share,
sealed to a fresh ephemeral key, and checks each like the operator does (signature under
the node's published key, share against its commitments: ``check_share``). It knows no
commitments digest in advance, so it cross-checks the nodes instead: valid shares are
grouped by the digest of their commitments, and a group of t (the commitments'
threshold, which the answers' ``threshold`` must repeat) whose key opens the payload
wins. A version that falls short gives way to the next lower one listed.

What is reported names nodes and versions only, never a value, share, key or token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from kuorum import sharing
from kuorum.envelope import EncryptionPrivateKey, ShareContext
from kuorum.kube.nodeclient import NodeError, Source
from kuorum.nodeapi import Released
from kuorum.releases import check_share, open_payload

DELIVERY_REASON = "deliver to the pod's volume"
"""Why the agent asks for a share: it goes on each node's ledger."""

T = TypeVar("T")


@dataclass(frozen=True)
class Gathered:
    """A version opened, and the nodes whose shares opened it.

    The values are ``bytearray``s so that the caller can zero them once written; this is
    best effort: the ``bytes`` the decryption made on the way are only let go, Python
    cannot wipe them.
    """

    version: int
    data: dict[str, bytearray] = field(repr=False)
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What one round gave: a newer version or none, and every problem on the way."""

    gathered: Gathered | None
    problems: tuple[str, ...]
    """One sentence each, naming the node (or the version) that fell short."""
    listed: Mapping[str, int] = field(default_factory=dict)
    """The newest version each node that answered listed (what it is watched past)."""


@dataclass
class _Group:
    """Valid shares that verify against the same commitments, and who sent them."""

    commitments: sharing.Commitments
    shares: dict[int, sharing.Share] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    payloads: list[tuple[bytes, bytes]] = field(default_factory=list)

    def add(self, node: str, share: sharing.Share, released: Released) -> None:
        self.shares[share.index] = share
        self.nodes.append(node)
        if (released.payload, released.rule) not in self.payloads:
            self.payloads.append((released.payload, released.rule))

    @property
    def complete(self) -> bool:
        return len(self.shares) >= self.commitments.threshold


async def newest(
    sources: Sequence[Source], *, namespace: str, name: str, identity: str, above: int = 0
) -> Outcome:
    """The newest version above ``above`` that t nodes deliver, or none (with why).

    ``identity`` is the pod's ServiceAccount username, which nodes seal its shares to.
    """
    problems: list[str] = []
    listings = await _each(sources, lambda s: s.client.deliveries(namespace, name), problems)
    listed = {source.client.name: versions for source, versions in listings}
    newest_listed = {node: max(versions, default=0) for node, versions in listed.items()}
    versions = sorted({v for found in listed.values() for v in found if v > above}, reverse=True)
    for version in versions:
        asked = [s for s in sources if version in listed.get(s.client.name, {})]
        needed = _threshold([listed[s.client.name][version] for s in asked])
        if len(asked) < needed:  # asking would put releases on ledgers for nothing
            problems.append(
                f"version {version}: listed by {len(asked)} node(s), {needed} needed; not asked yet"
            )
            continue
        gathered = await _gather(
            asked,
            namespace=namespace,
            name=name,
            version=version,
            identity=identity,
            problems=problems,
        )
        if gathered is not None:
            return Outcome(gathered, tuple(problems), newest_listed)
    if not versions and not above:
        problems.append("no node lists a version it would deliver to this pod")
    return Outcome(None, tuple(problems), newest_listed)


def _threshold(claimed: Sequence[int]) -> int:
    """The threshold most nodes listing a version claim (the higher on a tie): one lying
    node cannot make the agent ask the others for shares that cannot add up."""
    return max(set(claimed), key=lambda t: (claimed.count(t), t))


async def _gather(
    asked: Sequence[Source],
    *,
    namespace: str,
    name: str,
    version: int,
    identity: str,
    problems: list[str],
) -> Gathered | None:
    """Ask every node in ``asked`` at once for its share of ``version``; open the payload
    with a group of t valid shares that agree, or add to ``problems`` why not."""
    ephemeral = EncryptionPrivateKey.generate()
    public = ephemeral.public_key()

    def ask(source: Source) -> Awaitable[Released]:
        return source.client.deliver(
            namespace, name, version, key=public.to_bytes(), kem=public.kem, reason=DELIVERY_REASON
        )

    groups: dict[str, _Group] = {}
    for source, released in await _each(asked, ask, problems):
        context = ShareContext(
            namespace, name, version, released.index, identity, "release", released.rule
        )
        share = check_share(released, ephemeral, context, source.signing_key, None)
        commitments = (
            None if share is None else sharing.Commitments.from_bytes(released.commitments)
        )
        if share is None or commitments is None or commitments.threshold != released.threshold:
            problems.append(
                f"share node {source.client.name}: sent a share of version {version} "
                "that fails verification"
            )
            continue
        group = groups.setdefault(commitments.digest(), _Group(commitments))
        group.add(source.client.name, share, released)
    complete = [g for g in sorted(groups.values(), key=lambda g: -len(g.shares)) if g.complete]
    for group in complete:
        data = open_payload(
            list(group.shares.values()),
            group.commitments,
            group.payloads,
            namespace=namespace,
            name=name,
            version=version,
        )
        if data is None:
            problems.append(
                f"version {version}: the shares of nodes {', '.join(group.nodes)} open none "
                "of the payloads they sent"
            )
            continue
        problems.extend(
            f"share node {node}: sent a share of version {version} under other commitments "
            f"than nodes {', '.join(group.nodes)}"
            for other in groups.values()
            if other is not group
            for node in other.nodes
        )
        values = {key: bytearray(value) for key, value in data.items()}
        return Gathered(version, values, tuple(group.nodes))
    if not complete:
        problems.append(_short(version, groups))
    return None


def _short(version: int, groups: dict[str, _Group]) -> str:
    """Why no group of ``version`` had t shares (each node's own problem comes first)."""
    if not groups:
        return f"version {version}: no valid share"
    best = max(groups.values(), key=lambda g: len(g.shares))
    return (
        f"version {version}: {len(best.shares)} valid share(s) agree "
        f"(nodes {', '.join(best.nodes)}), {best.commitments.threshold} needed"
    )


async def _each(
    sources: Sequence[Source],
    call: Callable[[Source], Awaitable[T]],
    problems: list[str],
) -> list[tuple[Source, T]]:
    """``call`` every source at once; the answers of those that answered, in order. A
    node that is unreachable or refuses is a problem, in its own words (``NodeError``)."""
    answers = await asyncio.gather(*(call(s) for s in sources), return_exceptions=True)
    answered = []
    for source, answer in zip(sources, answers, strict=True):
        if isinstance(answer, NodeError):
            problems.append(str(answer))
        elif isinstance(answer, BaseException):
            raise answer
        else:
            answered.append((source, answer))
    return answered
