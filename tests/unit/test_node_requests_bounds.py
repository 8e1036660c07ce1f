"""Integers in paths and queries are bounded ASCII digits: a 5,000-digit number or a
non-ASCII digit is a 400 naming the field and the range, never a ValueError (a 500)."""

from __future__ import annotations

import pytest

from kuorum.node.errors import BadRequest
from kuorum.node.requests import MAX_DIGITS, MAX_INTEGER, Slot, int_query, slot

HUGE = "9" * 5000
"""Past Python's 4,300-digit limit of ``int()`` on text."""

BAD = [HUGE, "1" * (MAX_DIGITS + 1), "\u00b2", "\u0661", "1\u0661", "0", "-1", "+1", " 1", ""]
BAD_IDS = ["5000-digits", "19-digits", "superscript", "arabic-indic", "mixed", "zero"]
BAD_IDS += ["negative", "plus", "space", "empty"]


def test_a_normal_version_and_the_largest_one_are_read() -> None:
    assert slot("team", "db", "3") == Slot("team", "db", 3)
    assert slot("team", "db", str(MAX_INTEGER)).version == MAX_INTEGER < 2**63


@pytest.mark.parametrize("version", BAD, ids=BAD_IDS)
def test_a_bad_version_names_the_field_and_the_range(version: str) -> None:
    with pytest.raises(BadRequest) as error:
        slot("team", "db", version)
    message = str(error.value)
    assert message.startswith("version ") and f"from 1 to {MAX_INTEGER}" in message
    assert len(message) < 200  # a prefix of the path segment, not all of it


def test_query_integers_are_read_from_their_minimum() -> None:
    assert int_query({"start": "0"}, "start") == 0
    assert int_query({"size": "42"}, "size", minimum=1) == 42
    assert int_query({"end": str(MAX_INTEGER)}, "end") == MAX_INTEGER


@pytest.mark.parametrize(
    ("query", "minimum"),
    [
        ({"start": HUGE}, 0),
        ({"start": "\u00b2"}, 0),
        ({"start": "\u0661"}, 0),
        ({"start": "-1"}, 0),
        ({"start": "0"}, 1),
        ({}, 0),
    ],
    ids=["5000-digits", "superscript", "arabic-indic", "negative", "below-minimum", "missing"],
)
def test_a_bad_query_integer_names_the_parameter_and_the_range(
    query: dict[str, str], minimum: int
) -> None:
    with pytest.raises(BadRequest) as error:
        int_query(query, "start", minimum=minimum)
    assert str(error.value) == (
        f"query parameter 'start' must be an integer from {minimum} to {MAX_INTEGER}"
    )
