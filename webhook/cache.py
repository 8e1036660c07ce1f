"""The in-memory view of every DecentralizedSecret that admission answers from.

Admission must be fast and must not depend on the apiserver answering a second request
while it waits on ours, so a watch keeps this cache current and a lookup is a dict read.
It holds only what admission and rollouts need (target name, access, readiness,
version); never secret data, which the resource does not carry anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kuorum.webhook.secretview import SecretView, view

Key = tuple[str, str]
VersionListener = Callable[[SecretView, int | None], None]
"""Called with the new view and the version seen before, when a version changes.

A first version (None -> 1) is no rotation: nothing consumed an older one."""


@dataclass
class SecretCache:
    """Views of DecentralizedSecrets by (namespace, name), fed by a watch."""

    def __post_init__(self) -> None:
        self._views: dict[Key, SecretView] = {}
        self._synced = threading.Event()
        self._listeners: list[VersionListener] = []
        self._first_list_listeners: list[Callable[[SecretView], None]] = []

    def lookup(self, namespace: str, name: str) -> SecretView | None:
        """Return the view of ``namespace/name``, or None when it does not exist."""
        return self._views.get((namespace, name))

    def __len__(self) -> int:
        return len(self._views)

    @property
    def synced(self) -> bool:
        """True once a full list has been loaded: before that a miss proves nothing."""
        return self._synced.is_set()

    def on_version_change(self, listener: VersionListener) -> None:
        """Call ``listener`` whenever a known secret moves to another status.version."""
        self._listeners.append(listener)

    def on_first_list(self, listener: Callable[[SecretView], None]) -> None:
        """Call ``listener`` once for every secret that has a version in the first list.

        A process that just started cannot tell which versions moved while it was down;
        its listeners get to compare with what they recorded themselves.
        """
        self._first_list_listeners.append(listener)

    def replace_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Load a full list; versions that moved since the last list are announced."""
        fresh = {(v.namespace, v.name): v for v in map(view, objects)}
        previous, self._views = self._views, fresh
        first = not self._synced.is_set()
        for key, current in fresh.items():
            if key in previous:
                self._announce(current, previous[key].version)
            elif first and current.version is not None:
                for listener in self._first_list_listeners:
                    listener(current)
        self._synced.set()

    def apply(self, event_type: str, obj: Mapping[str, Any]) -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED)."""
        current = view(obj)
        key = (current.namespace, current.name)
        if event_type == "DELETED":
            self._views.pop(key, None)
            return
        before = self._views.get(key)
        self._views[key] = current
        if before is not None:
            self._announce(current, before.version)

    def _announce(self, current: SecretView, before: int | None) -> None:
        if before is not None and current.version is not None and current.version != before:
            for listener in self._listeners:
                listener(current, before)
