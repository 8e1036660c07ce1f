"""List-then-watch a collection into callbacks, the way client-go informers do.

A component that answers from memory (the webhook's cache of DecentralizedSecrets, its
label-selected pod watch) needs the full list once, then every change from exactly that
point on, and a fresh list when the apiserver says the watch is too old (410 Gone).
Objects are handed over as plain dicts (the API's JSON), never as client models.

Blocking: run ``run`` in a thread of its own; ``stop`` makes it return within
``WATCH_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines

from kuorum.kube.raw import raw

WATCH_SECONDS = 30
"""Server-side timeout of one watch call; also the longest ``stop`` waits."""
RETRY_SECONDS = 2.0
GONE = 410

ListCall = Callable[..., Any]
Objects = list[Mapping[str, Any]]

logger = logging.getLogger(__name__)


@dataclass
class Informer:
    """Feed ``on_list`` with full lists and ``on_event`` with each change after them.

    ``list_call`` is a generated client ``list_*`` method (bound to any fixed arguments
    with ``functools.partial``); ``selectors`` go to every list and watch call.
    """

    what: str
    list_call: ListCall
    on_list: Callable[[Objects], None]
    on_event: Callable[[str, Mapping[str, Any]], None]
    selectors: Mapping[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Ask ``run`` to return (at the latest when the current watch call ends)."""
        self._stop.set()

    def run(self) -> None:
        """List and watch until stopped; errors are logged and retried, never raised."""
        while not self._stop.is_set():
            try:
                version = self._list()
                while not self._stop.is_set():
                    version = self._watch(version)
            except client.ApiException as error:
                if error.status != GONE:
                    logger.warning("watch of %s failed (%s); relisting", self.what, error.reason)
                    self._stop.wait(RETRY_SECONDS)
            except Exception as error:  # keep the cache alive through network trouble
                logger.warning("watch of %s failed (%s); relisting", self.what, error)
                self._stop.wait(RETRY_SECONDS)

    def _list(self) -> str:
        document = raw(self.list_call, **self.selectors)
        self.on_list(list(document.get("items") or []))
        return str(document["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str:
        """Watch from ``version``; return the last version seen (for the next call)."""
        response = self.list_call(
            watch=True,
            resource_version=version,
            timeout_seconds=WATCH_SECONDS,
            allow_watch_bookmarks=True,
            _preload_content=False,
            **self.selectors,
        )
        try:
            lines: Iterable[str] = iter_resp_lines(response)
            for line in lines:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise client.ApiException(status=obj.get("code"), reason=obj.get("message"))
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self.on_event(kind, obj)
                if self._stop.is_set():
                    break
        finally:
            response.release_conn()
        return version
