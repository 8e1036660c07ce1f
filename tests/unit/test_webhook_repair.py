"""Repair detection: each labelled pod without injection is reported once and counted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kuorum import names
from kuorum.webhook.repair import RepairWatch


def pod(uid: str, *, injected: bool = False, namespace: str = "apps") -> dict[str, Any]:
    annotations = {names.INJECTED_ANNOTATION: "apps/db"} if injected else {}
    return {"metadata": {"uid": uid, "namespace": namespace, "annotations": annotations}}


def test_uninjected_pods_are_reported_once_and_counted_while_they_exist() -> None:
    reported: list[str] = []

    def report(p: Mapping[str, Any]) -> None:
        reported.append(p["metadata"]["uid"])

    watch = RepairWatch(report, frozenset({"kube-system"}))
    watch.on_list([pod("a"), pod("b", injected=True), pod("c", namespace="kube-system")])
    assert reported == ["a"] and watch.uninjected == 1
    watch.on_event("MODIFIED", pod("a"))
    watch.on_event("ADDED", pod("d"))
    assert reported == ["a", "d"] and watch.uninjected == 2
    watch.on_event("DELETED", pod("a"))
    assert watch.uninjected == 1
    watch.on_list([pod("b", injected=True)])  # relist after a gap: d is gone
    assert watch.uninjected == 0


def test_a_terminating_pod_is_not_counted() -> None:
    watch = RepairWatch(lambda _: None, frozenset())
    terminating = pod("a")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    watch.on_event("MODIFIED", terminating)
    assert watch.uninjected == 0
