"""Typed reads of the JSON the apiserver gives, each failure naming the field path and fix.

Objects that come from the apiserver already passed the CRD schema; the same rules run
here for manifests read elsewhere (``kuorum seal``, offline checks, tests), so both
paths agree on what a valid resource is.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from kuorum.models._errors import InvalidSpec

E = TypeVar("E", bound=StrEnum)


def mapping(value: object, where: str, fix: str) -> Mapping[str, Any]:
    """``value`` as a mapping, or InvalidSpec with ``fix``."""
    if not isinstance(value, Mapping):
        raise InvalidSpec(where, f"must be an object, got {_kind(value)}", fix)
    return value


def obj(value: object, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """``value`` as a mapping holding only ``allowed`` keys (typos are named, not dropped)."""
    data = mapping(value, where, f"write {where} as a mapping with fields {', '.join(allowed)}")
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean {close[0]}?" if close else f"allowed: {', '.join(allowed)}"
            raise InvalidSpec(f"{where}.{key}", "unknown field", f"remove it; {fix}")
    return data


def present(data: Mapping[str, Any], key: str) -> bool:
    """Whether ``key`` is set (null counts as absent, as with a JSON merge patch)."""
    return data.get(key) is not None


def string(
    data: Mapping[str, Any],
    key: str,
    where: str,
    *,
    pattern: str | None = None,
    max_length: int | None = None,
    hint: str = "",
) -> str:
    """A required string field, checked against ``pattern`` and ``max_length``."""
    path = f"{where}.{key}"
    value = data.get(key)
    if value is None:
        raise InvalidSpec(path, "is required", f"set {path}{hint and ' to ' + hint}")
    return checked_string(value, path, pattern=pattern, max_length=max_length, hint=hint)


def checked_string(
    value: object,
    path: str,
    *,
    pattern: str | None = None,
    max_length: int | None = None,
    hint: str = "",
) -> str:
    """``value`` as a string matching ``pattern`` and no longer than ``max_length``."""
    if not isinstance(value, str):
        raise InvalidSpec(
            path, f"must be a string, got {_kind(value)}", f"quote the value of {path}"
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidSpec(
            path, f"is {len(value)} characters long, more than {max_length}", f"shorten {path}"
        )
    if pattern is not None and not re.search(pattern, value):
        raise InvalidSpec(
            path, f"{_show(value)} is not valid", f"use {hint or 'a value matching ' + pattern}"
        )
    return value


def choice(data: Mapping[str, Any], key: str, where: str, options: type[E]) -> E:
    """A required string field from the enum ``options``."""
    value = string(data, key, where)
    try:
        return options(value)
    except ValueError:
        allowed = ", ".join(str(o) for o in options)
        raise InvalidSpec(
            f"{where}.{key}", f"{_show(value)} is not supported", f"use one of {allowed}"
        ) from None


def integer(
    data: Mapping[str, Any], key: str, where: str, *, minimum: int, maximum: int | None = None
) -> int:
    """A required integer field within ``[minimum, maximum]``."""
    path = f"{where}.{key}"
    value = data.get(key)
    if value is None:
        raise InvalidSpec(path, "is required", f"set {path} to an integer")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSpec(
            path,
            f"must be an integer, got {_kind(value)}",
            f"write {path} as a number without quotes",
        )
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidSpec(path, f"is {value}, must be {bounds}", f"set {path} {bounds}")
    return value


def boolean(data: Mapping[str, Any], key: str, where: str, *, default: bool) -> bool:
    """An optional boolean field."""
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidSpec(
            f"{where}.{key}",
            f"must be true or false, got {_kind(value)}",
            "write true or false without quotes",
        )
    return value


def items(
    data: Mapping[str, Any],
    key: str,
    where: str,
    *,
    min_items: int = 0,
    max_items: int | None = None,
) -> Iterator[tuple[str, Any]]:
    """The elements of a list field with their paths (``where.key[i]``)."""
    path = f"{where}.{key}"
    value = data.get(key)
    if value is None:
        value = []
    if not isinstance(value, list):
        raise InvalidSpec(path, f"must be a list, got {_kind(value)}", f"write {path} as a list")
    if len(value) < min_items:
        raise InvalidSpec(
            path,
            f"has {len(value)} entries, needs at least {min_items}",
            f"add entries to {path} or omit it",
        )
    if max_items is not None and len(value) > max_items:
        raise InvalidSpec(
            path,
            f"has {len(value)} entries, at most {max_items} are allowed",
            f"remove entries from {path}",
        )
    for index, item in enumerate(value):
        yield f"{path}[{index}]", item


def unique(values: Sequence[tuple[str, object]], what: str) -> None:
    """Refuse a repeated value; each entry is (path, value)."""
    seen: dict[object, str] = {}
    for path, value in values:
        if value in seen:
            raise InvalidSpec(
                path,
                f"repeats {what} {_show(value)} of {seen[value]}",
                "give each entry its own value",
            )
        seen[value] = path


def base64_field(
    data: Mapping[str, Any], key: str, where: str, *, max_length: int, size: int | None = None
) -> bytes:
    """A required standard-base64 field, decoded (``size`` bytes when given)."""
    path = f"{where}.{key}"
    text = string(data, key, where, max_length=max_length)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSpec(
            path,
            "is not standard base64",
            f"paste {path} exactly as `kuorum seal` or the node wrote it",
        ) from None
    if size is not None and len(raw) != size:
        raise InvalidSpec(
            path,
            f"decodes to {len(raw)} bytes, expected {size}",
            f"check that {path} holds the whole key",
        )
    return raw


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
