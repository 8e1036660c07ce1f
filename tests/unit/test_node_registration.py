"""Between heartbeats, a change of the node's counters brings the next status write
forward, so the ShareNode shows the shares a node holds when they change."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from kuorum.node.registration import Registration


def registration(counters: list[tuple[int, int]]) -> Registration:
    async def status() -> Any:
        raise AssertionError("not written in these tests")

    made = Registration(cast(Any, None), "node-a", cast(Any, None), status, lambda: counters[0])
    made._reported = counters[0]
    return made


def test_a_change_of_shares_or_ledger_ends_the_wait_for_the_next_heartbeat() -> None:
    counters = [(0, 2)]

    async def scenario() -> None:
        waiting = asyncio.ensure_future(registration(counters)._next_beat(3600))
        await asyncio.sleep(0)
        assert not waiting.done()
        counters[0] = (1, 3)  # a share was stored
        await asyncio.wait_for(waiting, timeout=30)  # the guard, not a measurement

    asyncio.run(scenario())


def test_without_a_change_the_heartbeat_comes_at_its_interval() -> None:
    counters = [(4, 9)]

    async def scenario() -> None:
        await asyncio.wait_for(registration(counters)._next_beat(0.01), timeout=30)

    asyncio.run(scenario())
