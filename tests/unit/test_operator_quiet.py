"""Which passes the operator skips: those over an object and inputs exactly as the last
pass left them, never past what it waits for, and those over a body older than the last
pass's own writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kuorum.operator.quiet import REFRESH, Inputs, Quiet
from kuorum.placement import NodeView

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _view(name: str, usable: bool = True) -> NodeView:
    return NodeView(name, "", {}, "https://x", "", b"k" * 32, "x25519", b"e" * 32, usable)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _inputs() -> tuple[Inputs, Clock, list[Mapping[str, Any]]]:
    clock, computed = Clock(), []

    def compute(nodes: Mapping[str, Any]) -> Mapping[str, NodeView]:
        computed.append(nodes)
        return {name: _view(name, usable) for name, usable in nodes.items()}

    return Inputs(compute, clock=clock), clock, computed


def test_views_are_computed_at_most_once_per_refresh() -> None:
    inputs, clock, computed = _inputs()
    for _ in range(100):
        inputs.refresh({"a": True}, {})
    assert len(computed) == 1 and inputs.views == {"a": _view("a")}
    clock.now += REFRESH
    inputs.refresh({"a": True}, {})
    assert len(computed) == 2


def test_the_epoch_moves_only_when_views_or_grants_change() -> None:
    inputs, clock, _ = _inputs()
    inputs.refresh({"a": True}, {})
    first = inputs.epoch
    clock.now += REFRESH
    inputs.refresh({"a": True}, {})
    assert inputs.epoch == first
    for nodes, grants in [({"a": False}, {}), ({"a": False}, {"team": ["grant"]})]:
        clock.now += REFRESH
        inputs.refresh(nodes, grants)
        assert inputs.epoch > first
        first = inputs.epoch


def test_a_pass_is_skipped_only_as_the_last_one_left_it_and_before_it_is_due() -> None:
    quiet = Quiet()
    assert not quiet.skip("u", "1", 1, NOW)  # never passed yet
    quiet.passed("u", "1", [], 1, NOW + timedelta(minutes=5))
    assert quiet.skip("u", "1", 1, NOW)
    assert not quiet.skip("u", "2", 1, NOW)  # the object changed
    assert not quiet.skip("u", "1", 2, NOW)  # nodes or grants changed
    assert not quiet.skip("u", "1", 1, NOW + timedelta(minutes=5))  # due
    assert not quiet.skip("v", "1", 1, NOW)  # another secret
    quiet.forget("u")
    assert not quiet.skip("u", "1", 1, NOW)


def test_a_body_older_than_the_last_passs_own_write_is_skipped_and_the_newest_rests() -> None:
    quiet = Quiet()
    quiet.passed("u", "10", ["11", "12", "13"], 1, NOW + timedelta(seconds=10))
    for stale in ["10", "11", "12"]:  # read, pending, commit: their events may come late
        assert quiet.skip("u", stale, 1, NOW), stale
        assert quiet.skip("u", stale, 2, NOW + timedelta(hours=1)), "stale even when due"
    assert quiet.skip("u", "13", 1, NOW), "its own last write: nothing new"
    assert not quiet.skip("u", "13", 1, NOW + timedelta(seconds=10)), "due"
    assert not quiet.skip("u", "14", 1, NOW), "someone else's change"


def test_a_body_none_of_the_last_passs_own_writes_is_read_again_only_after_it_wrote() -> None:
    quiet = Quiet()
    quiet.passed("u", "10", [], 1, NOW)
    assert not quiet.unsure("u", "11"), "no write: kopf's stream only moves forward from 10"
    quiet.passed("u", "10", ["12", "13"], 1, NOW)
    assert quiet.unsure("u", "11"), "kopf's finalizer, between our read and our writes"
    assert quiet.unsure("u", "14"), "or a user's edit after them"
    assert not any(quiet.unsure("u", v) for v in ["10", "12", "13"]), "known: skipped or rests"
    assert not quiet.unsure("v", "11"), "never passed over"


def test_the_version_a_pass_ends_at_is_never_stale_even_when_kopf_was_behind() -> None:
    quiet = Quiet()
    # kopf's finalizer patch "13" landed after our write "12"; the fresh read found "13"
    quiet.passed("u", "13", [], 1, NOW, behind={"10", "12", "13"})
    assert quiet.skip("u", "12", 1, NOW + timedelta(hours=1)), "older: stale"
    assert not quiet.skip("u", "13", 1, NOW), "the current version is due, not stale"
