"""Notice labelled pods that run without injection, and say so (Event + metric).

A pod labelled ``kuorum.io/inject=true`` normally cannot exist without our patch
(failurePolicy Fail). It still can when it was created while the webhook configuration
was missing or edited: such a pod runs without its secrets. The webhook watches exactly
those pods (label-selected) and reports every one that lacks ``kuorum.io/injected``,
once per pod, so an operator can recreate it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kuorum import names

REASON = "NotInjected"
MESSAGE = (
    "pod is labelled {label}=true but was admitted without Kuorum injection (the webhook "
    "configuration was missing or bypassed when it was created), so it runs without the "
    "secrets it names; delete the pod so its controller recreates it through the webhook"
)
LABEL_SELECTOR = f"{names.INJECT_LABEL}=true"


def needs_repair(pod: Mapping[str, Any], excluded_namespaces: frozenset[str]) -> bool:
    """Tell whether a labelled pod lacks the mark the webhook puts on every pod it patched."""
    metadata = pod.get("metadata") or {}
    if metadata.get("namespace") in excluded_namespaces or metadata.get("deletionTimestamp"):
        return False
    return names.INJECTED_ANNOTATION not in (metadata.get("annotations") or {})


@dataclass
class RepairWatch:
    """Callbacks for the label-selected pod informer; reports each bad pod once."""

    report: Callable[[Mapping[str, Any]], None]
    """Called once per uninjected pod (posts the Event)."""
    excluded_namespaces: frozenset[str]
    _uninjected: set[str] = field(default_factory=set)
    _reported: set[str] = field(default_factory=set)

    @property
    def uninjected(self) -> int:
        """How many uninjected labelled pods exist now (the metric's value)."""
        return len(self._uninjected)

    def on_list(self, pods: Iterable[Mapping[str, Any]]) -> None:
        pods = list(pods)
        present = {str((pod.get("metadata") or {}).get("uid")) for pod in pods}
        self._uninjected &= present
        self._reported &= present
        for pod in pods:
            self.on_event("ADDED", pod)

    def on_event(self, event_type: str, pod: Mapping[str, Any]) -> None:
        uid = str((pod.get("metadata") or {}).get("uid"))
        if event_type == "DELETED":
            self._uninjected.discard(uid)
            self._reported.discard(uid)
            return
        if not needs_repair(pod, self.excluded_namespaces):
            self._uninjected.discard(uid)
            return
        self._uninjected.add(uid)
        if uid not in self._reported:
            self._reported.add(uid)
            self.report(pod)
