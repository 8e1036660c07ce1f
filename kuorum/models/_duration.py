"""Go-style durations (``90s``, ``1h30m``, ``720h``), as kubectl and the CEL ``duration()``
read them, so an interval means the same in the schema, the operator and the docs."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Final

from kuorum.models._limits import DURATION_PATTERN

_UNITS: Final = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_PART: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """``text`` as a timedelta; ValueError unless it is a Go duration like ``1h30m``."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{text!r} is not a duration like 90s, 30m, 24h or 1h30m")
    seconds = sum(Decimal(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    if seconds * 10**9 >= 2**63:
        raise ValueError(f"{text!r} is longer than a Go duration can be (about 290 years)")
    return timedelta(seconds=float(seconds))


def format_duration(value: timedelta) -> str:
    """The shortest Go duration for whole seconds (``1h30m``, ``720h``, ``45s``)."""
    total = int(value.total_seconds())
    if total <= 0 or total != value.total_seconds():
        raise ValueError(f"{value} is not a positive whole number of seconds")
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)
