"""Passes that need not run: the object and its inputs are as the last pass left them.

Each DecentralizedSecret's loop wakes on every change of the object (its own status
writes included) and every ``--interval`` seconds. A pass is skipped when the object (by
resourceVersion), node views and grants are as the last pass left them and nothing it
waits for falls due (for a Ready secret its next rotation or the next read of its target
Secrets; otherwise the next retry), so a thousand quiet secrets cost next to nothing. A
body older than the last pass's own last write (an event of an earlier write arriving
late) is skipped too: a pass over it would act on a status already replaced (abandon a
version just committed). The views and grants are computed at most once a second
(:class:`Inputs`), not once per object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kuorum.placement import NodeView

REFRESH = 1.0
"""Seconds the node views and grants are reused between passes (heartbeats are 45 s)."""


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
    version: str | None
    """The object's resourceVersion when the pass ended: its last write, or what it read."""
    epoch: int
    until: datetime
    superseded: frozenset[str]
    """Versions older than ``version``: before the pass's last write, or, after a fresh
    read, those kopf's body had yet to catch up with. A body at one is stale."""


class Quiet:
    """Which passes need not run, by uid: what the last pass ended with, and until when
    nothing is due."""

    def __init__(self) -> None:
        self._rest: dict[str, _Rest] = {}

    def skip(self, uid: str, version: str | None, epoch: int, now: datetime) -> bool:
        """Whether a pass over the object at ``version``, with inputs at ``epoch``, would
        find nothing to do: the object and inputs are as the last pass left them and
        nothing is due yet, or the body is older than the last pass's own write (the event
        of that write is on its way; acting on the older body would undo it)."""
        rest = self._rest.get(uid)
        if rest is None:
            return False
        if version in rest.superseded:
            return True
        return (version, epoch) == (rest.version, rest.epoch) and now < rest.until

    def unsure(self, uid: str, version: str | None) -> bool:
        """Whether a body at ``version`` may be older than the last pass's writes: that
        pass wrote, and ``version`` is none of its own. Someone else wrote it (kopf's
        finalizer, a user), before those writes (its event overtaken by theirs) or after;
        only a read of the object tells."""
        rest = self._rest.get(uid)
        return (
            rest is not None
            and bool(rest.superseded)
            and version != rest.version
            and version not in rest.superseded
        )

    def known(self, uid: str) -> frozenset[str]:
        """The versions of the object the last pass read, wrote or knew to be older."""
        rest = self._rest.get(uid)
        if rest is None:
            return frozenset()
        return rest.superseded | ({rest.version} if rest.version is not None else set())

    def passed(
        self,
        uid: str,
        read: str | None,
        written: Sequence[str],
        epoch: int,
        until: datetime,
        *,
        behind: Collection[str] = (),
    ) -> None:
        """A pass read the object at ``read`` and wrote its status ``written`` times (the
        resourceVersions each write returned): rest until ``until`` unless it changes.
        ``behind``: versions older than ``read`` that kopf's body may still show (the pass
        read the object afresh because kopf's body was behind)."""
        final = written[-1] if written else read
        superseded = {*behind, *({read, *written[:-1]} if written else ())} - {None, final}
        self._rest[uid] = _Rest(final, epoch, until, frozenset(str(v) for v in superseded))

    def forget(self, uid: str) -> None:
        """The object is gone."""
        self._rest.pop(uid, None)
