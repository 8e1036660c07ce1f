"""Keep this node's ShareNode current: register at start, then heartbeat its status, and
write it sooner when the shares held or the ledger size change (at most once a second),
so ``kubectl get snode`` is true when shown.

The ShareNode is how the operator, peers and ``kuorum ledger verify`` find the node and
pin its keys and TLS certificate. Its keys never change in place (the CRD refuses it): a
node whose keys differ from the registered ones lost its data directory (or something
worse), stays unregistered and not Ready, and says so until an administrator re-keys it
(``kuorum nodes rekey``, which deletes the ShareNode; the node then registers anew).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable

from kubernetes import client

from kuorum.errors import KuorumError
from kuorum.kube.errors import brief
from kuorum.kube.sharenodes import get_share_node, patch_share_node_status, register_share_node
from kuorum.models import (
    Condition,
    ConditionStatus,
    ConditionType,
    Reason,
    ShareNodeSpec,
    ShareNodeStatus,
    set_condition,
)

log = logging.getLogger("kuorum.node.registration")

REGISTRATION_RETRY = 5.0
"""Longest wait between registration attempts (seconds): readiness waits on it."""

CHANGE_POLL = 1.0
"""Seconds between looks at the counters while waiting for the next heartbeat: a change
is written within about this long, and a burst of stores costs one write per poll."""

PINNED = ("signingKey", "encryptionKey", "tlsCertificate")
"""ShareNode spec fields that clients pin and the CRD keeps immutable."""


class KeysChanged(KuorumError):
    """The registered ShareNode names keys other than this node's."""


StatusSource = Callable[[], Awaitable[ShareNodeStatus]]
"""Returns the node's counters and checkpoint; conditions and heartbeat time are added."""
Counters = Callable[[], tuple[int, int]]
"""Shares held and ledger size now: cheap, read to notice a change between heartbeats."""


class Registration:
    """Registers the ShareNode ``name`` and refreshes its status every interval."""

    def __init__(
        self,
        api: client.ApiClient,
        name: str,
        spec: ShareNodeSpec,
        status: StatusSource,
        counters: Counters,
    ) -> None:
        self._api = api
        self._name = name
        self._spec = spec
        self._status = status
        self._counters = counters
        self._reported: tuple[int, int] | None = None
        self._conditions: list[Condition] = []
        self.registered = asyncio.Event()

    async def register(self) -> None:
        """Create or update the ShareNode spec, warning if it named other keys."""
        spec = self._spec.to_dict()
        existing = await asyncio.to_thread(get_share_node, self._api, self._name)
        if existing is not None:
            old = existing.get("spec") or {}
            changed = [f for f in PINNED if old.get(f) not in (None, spec[f])]
            if changed:
                raise KeysChanged(
                    f"ShareNode {self._name} is registered with other {', '.join(changed)} "
                    "than this node's (data directory lost or replaced?); the node stays "
                    "unregistered until an administrator runs "
                    f"'kuorum nodes rekey {self._name}'"
                )
            for condition in (existing.get("status") or {}).get("conditions") or []:
                with contextlib.suppress(KeyError, ValueError):
                    self._conditions.append(Condition.from_dict(condition))
        await asyncio.to_thread(register_share_node, self._api, self._name, spec)
        await self.heartbeat()
        self.registered.set()
        log.info("ShareNode %s registered at %s", self._name, self._spec.endpoint)

    async def heartbeat(self) -> None:
        """Write Ready, the node's counters and lastHeartbeatTime into the status."""
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        ready = Condition(
            ConditionType.READY, ConditionStatus.TRUE, Reason.SERVING, "accepting requests", now
        )
        self._conditions = set_condition(self._conditions, ready)
        self._reported = self._counters()
        status = dataclasses.replace(
            await self._status(), conditions=tuple(self._conditions), last_heartbeat_time=now
        )
        await asyncio.to_thread(patch_share_node_status, self._api, self._name, status.to_dict())

    async def _next_beat(self, interval: float) -> None:
        """Sleep until the next heartbeat is due, or less once the counters changed."""
        loop = asyncio.get_running_loop()
        due = loop.time() + interval
        while (left := due - loop.time()) > 0:
            await asyncio.sleep(min(CHANGE_POLL, left))
            if self._counters() != self._reported:
                return

    async def run(self, interval: float) -> None:
        """Register (retrying until the apiserver answers), then heartbeat forever;
        register again when the ShareNode was deleted (a re-key)."""
        retry = min(interval, REGISTRATION_RETRY)
        while True:
            while not self.registered.is_set():
                try:
                    await self.register()
                except Exception as error:  # keep serving, retry registration
                    log.warning(
                        "ShareNode %s: registration failed, retrying in %.0fs: %s",
                        self._name,
                        retry,
                        brief(error),
                    )
                    await asyncio.sleep(retry)
            await self._next_beat(interval)
            try:
                await self.heartbeat()
            except client.ApiException as error:
                if error.status == 404:
                    log.warning("ShareNode %s was deleted; registering again", self._name)
                    self.registered.clear()
                else:
                    log.warning("ShareNode %s: heartbeat failed: %s", self._name, brief(error))
            except Exception as error:  # a missed heartbeat is not fatal
                log.warning("ShareNode %s: heartbeat failed: %s", self._name, brief(error))
