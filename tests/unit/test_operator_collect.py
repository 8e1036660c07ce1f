"""Collection asks t nodes, and one more only for each that fails: no share leaves a node
that is not needed (each release is a ledger entry and a share in flight)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from kuorum.kube.nodeclient import NodeClient, NodeError, Source
from kuorum.nodeapi import Released
from kuorum.operator.collect import Collected, collect


class FakeNode:
    """A node that either never answers (until cancelled) or refuses at once."""

    def __init__(self, name: str, *, refuses: bool, asked: list[str]) -> None:
        self.name = name
        self._refuses = refuses
        self._asked = asked

    async def release(self, *_: Any, **__: Any) -> Any:
        self._asked.append(self.name)
        if self._refuses:
            raise NodeError(self.name, "unreachable", "connection refused")
        await asyncio.Event().wait()


def sources(*refusing: bool, asked: list[str]) -> list[Source]:
    nodes = [FakeNode(f"n{i}", refuses=r, asked=asked) for i, r in enumerate(refusing)]
    return [Source(cast(NodeClient, n), bytes(32)) for n in nodes]


def run(found: list[Source], threshold: int) -> asyncio.Task[Collected]:
    return asyncio.ensure_future(
        collect(
            found,
            namespace="team-a",
            name="db",
            version=1,
            threshold=threshold,
            commitments_digest="00" * 32,
            identity="operator",
            rules=frozenset({b""}),
        )
    )


def asked_first(*refusing: bool, threshold: int = 3) -> list[str]:
    """The nodes a collection has asked once every request that can finish has finished
    (the others never answer), in order."""

    async def scenario() -> list[str]:
        asked: list[str] = []
        task = run(sources(*refusing, asked=asked), threshold)
        for _ in range(20):
            await asyncio.sleep(0)
        task.cancel()
        return asked

    return asyncio.run(scenario())


def test_only_t_nodes_are_asked_while_they_may_still_answer() -> None:
    asked = asked_first(False, False, False, False, False)
    assert len(asked) == len(set(asked)) == 3


def test_each_node_that_fails_brings_in_the_next() -> None:
    async def scenario() -> tuple[list[str], Collected]:
        asked: list[str] = []
        collected = await run(sources(True, True, True, True, True, asked=asked), 3)
        return asked, collected

    asked, collected = asyncio.run(scenario())
    assert sorted(asked) == ["n0", "n1", "n2", "n3", "n4"]
    assert collected.data is None and sorted(collected.unreachable) == sorted(asked)


def test_a_failure_asks_one_more_not_all() -> None:
    asked = asked_first(True, True, False, False, False)
    refused = {"n0", "n1"} & set(asked)
    assert len(asked) == len(set(asked)) == 3 + len(refused)


def test_the_t_asked_are_drawn_at_random_so_every_node_is_asked_in_time() -> None:
    seen = {frozenset(asked_first(False, False, False, False, False)) for _ in range(60)}
    assert set().union(*seen) == {"n0", "n1", "n2", "n3", "n4"}


class BoundNode(FakeNode):
    """A node whose share is bound to an access rule the spec no longer has."""

    async def release(self, *_: Any, **__: Any) -> Any:
        self._asked.append(self.name)
        return Released(1, 2, b"sealed", b"commitments", b"payload", rule=bytes(32))


def test_a_share_bound_to_another_rule_is_not_used_and_brings_in_no_other_node() -> None:
    async def scenario() -> tuple[list[str], Collected]:
        asked: list[str] = []
        nodes = [BoundNode(f"n{i}", refuses=False, asked=asked) for i in range(5)]
        found = [Source(cast(NodeClient, n), bytes(32)) for n in nodes]
        return asked, await run(found, 3)

    asked, collected = asyncio.run(scenario())
    assert len(asked) == 3, "every node holds the same rule: asking more releases more"
    assert collected.data is None and sorted(collected.other_rule) == sorted(asked)
    assert collected.bad == () and collected.unreachable == ()
