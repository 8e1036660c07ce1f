"""Ticks that need not run: a Ready secret whose object and inputs are as they were.

kopf ticks every DecentralizedSecret every ``--interval`` seconds. For a secret that was
Ready at its last tick, whose object (by resourceVersion), node views and grants are the
same now, and before anything it waits for falls due (its next rotation, the next read
of its target Secrets), a tick would find nothing to do: it is skipped, so a thousand
quiet secrets cost next to nothing. The views and grants every tick reads are computed
at most once a second (:class:`Inputs`), not once per object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kuorum.placement import NodeView

REFRESH = 1.0
"""Seconds the node views and grants are reused between ticks (heartbeats are 45 s)."""


class Inputs:
    """The node views and grants of the moment, and an epoch that moves when they change."""

    def __init__(
        self,
        compute: Callable[[Mapping[str, Any]], Mapping[str, NodeView]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._clock = clock
        self._at = -REFRESH
        self._seen: tuple[Mapping[str, NodeView], Any] = ({}, {})
        self.epoch = 0

    @property
    def views(self) -> Mapping[str, NodeView]:
        """The views as last computed."""
        return self._seen[0]

    def refresh(self, nodes: Mapping[str, Any], grants: Mapping[str, Any]) -> None:
        """Recompute the views of the ShareNodes ``nodes`` (and compare the grants) if the
        last time was a while ago."""
        if self._clock() - self._at < REFRESH:
            return
        self._at = self._clock()
        seen = (self._compute(nodes), {ns: list(grants[ns]) for ns in grants})
        if seen != self._seen:
            self._seen = seen
            self.epoch += 1


@dataclass(frozen=True)
class _Rest:
    key: Hashable
    until: datetime


class Quiet:
    """Which secrets may skip their tick: by uid, the inputs they were Ready with."""

    def __init__(self) -> None:
        self._rest: dict[str, _Rest] = {}

    def skip(self, uid: str, key: Hashable, now: datetime) -> bool:
        """Whether the secret was Ready with exactly ``key`` and nothing is due yet."""
        rest = self._rest.get(uid)
        return rest is not None and rest.key == key and now < rest.until

    def ready(self, uid: str, key: Hashable, until: datetime) -> None:
        """The secret is Ready with ``key``: its ticks may rest until ``until``."""
        self._rest[uid] = _Rest(key, until)

    def forget(self, uid: str) -> None:
        """Tick it next time (it was not Ready, or it is gone)."""
        self._rest.pop(uid, None)
