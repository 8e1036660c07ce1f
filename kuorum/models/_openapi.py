"""Small builders for OpenAPI v3 schemas: every builder takes a description first, so no
field of the CRDs can be written without one (``kubectl explain`` teaches the API)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kuorum import names

Schema = dict[str, Any]


def rule(
    expression: str, message: str, *, field_path: str | None = None, reason: str | None = None
) -> Schema:
    """A CEL validation rule (``x-kubernetes-validations`` entry)."""
    out: Schema = {"rule": expression, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    if reason:
        out["reason"] = reason
    return out


def _finish(schema: Schema, rules: Iterable[Schema]) -> Schema:
    listed = list(rules)
    if listed:
        schema["x-kubernetes-validations"] = listed
    return schema


def string(
    description: str,
    *,
    pattern: str | None = None,
    max_length: int | None = None,
    min_length: int | None = None,
    enum: Iterable[str] | None = None,
    fmt: str | None = None,
    rules: Iterable[Schema] = (),
) -> Schema:
    """A string field."""
    out: Schema = {"type": "string", "description": description}
    optional = {
        "format": fmt,
        "pattern": pattern,
        "minLength": min_length,
        "maxLength": max_length,
        "enum": [str(e) for e in enum] if enum else None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return _finish(out, rules)


def integer(
    description: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    rules: Iterable[Schema] = (),
) -> Schema:
    """An integer field (int64)."""
    out: Schema = {"type": "integer", "format": "int64", "description": description}
    if minimum is not None:
        out["minimum"] = minimum
    if maximum is not None:
        out["maximum"] = maximum
    return _finish(out, rules)


def boolean(description: str) -> Schema:
    """A boolean field."""
    return {"type": "boolean", "description": description}


def timestamp(description: str) -> Schema:
    """An RFC 3339 time, as metav1.Time."""
    return string(description, fmt="date-time")


def obj(
    description: str,
    properties: Mapping[str, Schema],
    *,
    required: Iterable[str] = (),
    rules: Iterable[Schema] = (),
    atomic: bool = False,
) -> Schema:
    """An object with fixed properties."""
    out: Schema = {"type": "object", "description": description, "properties": dict(properties)}
    needed = list(required)
    if needed:
        out["required"] = needed
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    return _finish(out, rules)


def string_map(
    description: str, values: Schema, *, max_properties: int, rules: Iterable[Schema] = ()
) -> Schema:
    """An object used as a map from string keys to ``values``."""
    out: Schema = {
        "type": "object",
        "description": description,
        "additionalProperties": values,
        "maxProperties": max_properties,
    }
    return _finish(out, rules)


def array(
    description: str,
    items: Schema,
    *,
    max_items: int,
    min_items: int | None = None,
    list_type: str | None = None,
    map_keys: Iterable[str] = (),
    rules: Iterable[Schema] = (),
) -> Schema:
    """A list; ``list_type`` set/map makes the apiserver refuse duplicates."""
    out: Schema = {
        "type": "array",
        "description": description,
        "items": items,
        "maxItems": max_items,
    }
    if min_items is not None:
        out["minItems"] = min_items
    if list_type:
        out["x-kubernetes-list-type"] = list_type
    keys = list(map_keys)
    if keys:
        out["x-kubernetes-list-map-keys"] = keys
    return _finish(out, rules)


def resource(description: str, *, kind: str, spec: Schema, status: Schema) -> Schema:
    """The ``openAPIV3Schema`` of a kind. ``metadata`` stays bare: the apiserver forbids
    documenting it (kubectl explain shows ObjectMeta's own docs)."""
    return obj(
        description,
        {
            "apiVersion": string(f"Versioned schema of this object ({names.API_VERSION})."),
            "kind": string(f"Kind of this object ({kind})."),
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        required=("spec",),
    )


def cel_regex(pattern: str) -> str:
    """``pattern`` as a CEL raw string literal (backslashes stay regex escapes)."""
    if "'" in pattern:
        raise ValueError(f"pattern {pattern!r} cannot hold a single quote")
    return f"r'{pattern}'"
