"""The anonymous-refusal budget: bursts pass, floods are counted, the count is handed on."""

from __future__ import annotations

from kuorum.node.limits import RefusalBudget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_flood_is_counted_and_reported_once() -> None:
    clock = Clock()
    budget = RefusalBudget(rate=2, burst=3, clock=clock)
    assert [budget.take() for _ in range(3)] == [0, 0, 0]
    assert [budget.take() for _ in range(5)] == [None] * 5
    clock.now += 0.5  # one token back
    assert budget.take() == 5
    assert budget.take() is None
    clock.now += 10  # refilled, but never above the burst
    assert [budget.take() for _ in range(4)] == [1, 0, 0, None]
