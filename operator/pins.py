"""The operator's own pins of the share nodes' keys, taken when it first admits a node.

A ShareNode's keys cannot change in place (the CRD refuses it), but a ShareNode can be
deleted and created again with other keys (``kuorum nodes rekey``, or anyone else who
may delete ShareNodes). The operator therefore remembers, in the ConfigMap
``kuorum-node-pins`` of its own namespace (nodes cannot write it), the SHA-256 of each
admitted node's keys and certificate as it first saw them (:func:`kuorum.nodelock.pins_of`,
the same digests as a nodes lock), and never deals to or collects from a node whose
live keys differ, until an administrator re-keys it (which drops the pin).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubernetes import client

from kuorum import names, nodelock

logger = logging.getLogger(__name__)

CONFIGMAP = names.NODE_PINS_CONFIGMAP
REREAD_SECONDS = 10.0
"""While some node is distrusted, how often the pins are read again."""


class NodePins:
    """Pins by node name, loaded from and written to the ConfigMap."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace = namespace
        self._pins: dict[str, dict[str, str]] = {}
        self._unsaved: dict[str, dict[str, str]] = {}
        self._warned: set[str] = set()
        self._reread_at = 0.0

    def load(self) -> None:
        """Read the pins kept so far (blocking; none on a first start). Pins taken but not
        saved yet are kept."""
        try:
            found = self._core.read_namespaced_config_map(CONFIGMAP, self._namespace)
        except client.ApiException as error:
            if error.status != 404:
                raise
            return
        stored = {name: json.loads(value) for name, value in (found.data or {}).items()}
        self._pins = {**stored, **self._unsaved}

    def trusted(self, share_node: Mapping[str, Any]) -> bool:
        """Whether the ShareNode shows the keys pinned for its name (pinning it if new)."""
        name = str(share_node["metadata"]["name"])
        live = nodelock.pins_of(share_node)
        pinned = self._pins.get(name)
        if pinned is None:
            self._pins[name] = self._unsaved[name] = live
            logger.info("pinned the keys of ShareNode %s on first admission", name)
            return True
        if pinned == live:
            self._warned.discard(name)
            return True
        if name not in self._warned:
            self._warned.add(name)
            changed = ", ".join(f for f in nodelock.FIELDS if pinned[f] != live[f])
            logger.error(
                "ShareNode %s shows another %s than pinned when it was first admitted: it "
                "gets no share and gives none until an administrator re-keys it "
                "(kuorum nodes rekey %s)",
                name,
                changed,
                name,
            )
        return False

    async def sync(self) -> None:
        """Write pins taken since the last sync (a merge: other pins stay); while a node is
        distrusted, re-read the pins now and then, so a re-key (which drops its pin from
        the ConfigMap) is seen without a restart."""
        if self._unsaved:
            data = {name: json.dumps(pins, sort_keys=True) for name, pins in self._unsaved.items()}
            await asyncio.to_thread(self._write, data)
            self._unsaved.clear()
        if self._warned and time.monotonic() >= self._reread_at:
            self._reread_at = time.monotonic() + REREAD_SECONDS
            await asyncio.to_thread(self.load)

    def _write(self, data: dict[str, str]) -> None:
        body: Any = {"metadata": {"name": CONFIGMAP}, "data": data}
        try:
            self._core.patch_namespaced_config_map(CONFIGMAP, self._namespace, body)
        except client.ApiException as error:
            if error.status != 404:
                raise
            self._core.create_namespaced_config_map(self._namespace, body)
