"""Keep anonymous callers from filling the ledger: a token bucket for their refusals.

Every refusal of an identified caller is written. Callers without a valid token cost
nothing to make, so their refusals are written at most ``rate`` per second (bursts of
``burst``); the rest are counted, and the count rides on the next one written:
"41 anonymous refusals held back before this one; ...". Nothing is lost from the
ledger's account, only the detail of a flood.
"""

from __future__ import annotations

import time
from collections.abc import Callable

RATE = 0.2
"""Anonymous refusals written per second, sustained (one per 5 s): a flood of any length
adds about 17,000 entries a day at most, and its count is kept."""
BURST = 20.0
"""Anonymous refusals written back to back before the rate applies."""


class RefusalBudget:
    """A token bucket that remembers how many refusals it held back."""

    def __init__(
        self,
        *,
        rate: float = RATE,
        burst: float = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()
        self.held_back = 0

    def take(self) -> int | None:
        """Spend one token: the count held back before it, or None (then it is counted)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens < 1:
            self.held_back += 1
            return None
        self._tokens -= 1
        held_back, self.held_back = self.held_back, 0
        return held_back
