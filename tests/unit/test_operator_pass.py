"""One pass of the operator's loop, with fakes of its own parts: a body that may be
older than the last pass's writes is never acted on as it is."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import kopf
import pytest

from kuorum.operator import handlers
from kuorum.operator.metrics import METRICS
from kuorum.operator.quiet import Inputs, Quiet
from kuorum.operator.settings import OperatorSettings


class FakeKube:
    """The two KubeIO calls a pass makes itself."""

    def __init__(self, current: Mapping[str, Any]) -> None:
        self.current = current
        self.reads = 0
        self.pending: list[str] = []

    def written(self, namespace: str, name: str) -> list[str]:
        found, self.pending = self.pending, []
        return found

    async def decentralized_secret(self, namespace: str, name: str) -> Mapping[str, Any]:
        self.reads += 1
        return self.current


class FakePins:
    async def sync(self) -> None:
        return None


def _body(version: str, status: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "kuorum.io/v1alpha1",
        "kind": "DecentralizedSecret",
        "metadata": {"name": "db", "namespace": "team", "uid": "u", "resourceVersion": version},
        "spec": {},
        "status": dict(status or {}),
    }


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A pass over a body, with reconcile replaced by one that records what it was given
    and "writes" the resourceVersions it is told to."""
    seen: list[Mapping[str, Any]] = []
    kube = FakeKube(_body("14", {"version": 1}))
    writes: list[list[str]] = []

    async def reconcile(op: Any, obj: Mapping[str, Any], views: Any, **_: Any) -> bool:
        seen.append(obj)
        kube.pending = writes.pop(0) if writes else []
        return True

    monkeypatch.setattr(handlers, "reconcile", reconcile)
    memo = kopf.Memo(
        inputs=Inputs(lambda nodes: {}),
        quiet=Quiet(),
        reconciling=asyncio.Semaphore(1),
        pins=FakePins(),
        operator=type("Op", (), {"kube": kube})(),
        wakeups={},
        ready={},
    )
    config = OperatorSettings(
        api=None,  # type: ignore[arg-type]
        namespace="kuorum-system",
        service_account="kuorum-operator",
        interval=10,
        resync=300,
        heartbeat_grace=timedelta(seconds=45),
    )

    def once(body: Mapping[str, Any], will_write: list[str] | None = None) -> None:
        if will_write is not None:
            writes.append(will_write)
        own = copy.copy(memo)  # as kopf gives each object its own copy of the memo
        asyncio.run(handlers._pass(config, own, kopf.Body(dict(body)), {}, {}))

    once.seen = seen  # type: ignore[attr-defined]
    once.kube = kube  # type: ignore[attr-defined]
    return once


def test_bodies_of_the_passs_own_writes_are_skipped_and_a_foreign_one_is_read_again(
    run: Any,
) -> None:
    run(_body("10"), will_write=["12", "13"])  # pending version, commit
    assert [b["metadata"]["resourceVersion"] for b in run.seen] == ["10"]
    for stale in ["10", "12", "13"]:
        run(_body(stale))
    assert len(run.seen) == 1, "its own writes, or what it read: nothing to do"
    run(_body("11"))  # kopf's finalizer landed between the read and the writes
    assert run.kube.reads == 1, "the object was read from the apiserver"
    assert run.seen[-1]["metadata"]["resourceVersion"] == "14", "the pass used what it read"
    assert run.seen[-1] is run.kube.current


def test_after_a_fresh_read_the_bodies_kopf_has_yet_to_catch_up_with_stay_skipped(
    run: Any,
) -> None:
    run(_body("10"), will_write=["12", "13"])
    run(_body("11"))  # unsure: reads "14" (a user's edit after our writes), writes nothing
    assert run.kube.reads == 1 and len(run.seen) == 2
    for stale in ["11", "12", "13"]:  # kopf's stream catching up: all older than "14"
        run(_body(stale))
    assert len(run.seen) == 2, "no pass over a body older than what the last pass read"
    assert run.kube.reads == 1


def test_the_ready_gauge_counts_every_object_not_only_the_last(run: Any) -> None:
    first, second = _body("10"), _body("20")
    second["metadata"]["uid"] = "v"
    run(first)
    run(second)
    assert METRICS.secrets.labels(ready="True")._value.get() == 2
