"""metav1.LabelSelector over ShareNode labels: which nodes may hold a secret's shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kuorum.models import _read as read
from kuorum.models._errors import InvalidSpec
from kuorum.models._limits import (
    LABEL_VALUE_MAX,
    LABEL_VALUE_PATTERN,
    QUALIFIED_NAME_MAX,
    QUALIFIED_NAME_PATTERN,
    SelectorOperator,
)

_SET_OPERATORS = (SelectorOperator.IN, SelectorOperator.NOT_IN)


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry: ``key`` ``operator`` ``values``."""

    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> Requirement:
        """Parse one requirement; In/NotIn need values, Exists/DoesNotExist take none."""
        data = read.obj(data, where, ("key", "operator", "values"))
        key = read.string(
            data,
            "key",
            where,
            pattern=QUALIFIED_NAME_PATTERN,
            max_length=QUALIFIED_NAME_MAX,
            hint="a label key like zone",
        )
        operator = read.choice(data, "operator", where, SelectorOperator)
        values = tuple(_label_value(v, p) for p, v in read.items(data, "values", where))
        if operator in _SET_OPERATORS and not values:
            raise InvalidSpec(
                f"{where}.values",
                f"is empty, but {operator} needs values",
                "list at least one label value",
            )
        if operator not in _SET_OPERATORS and values:
            raise InvalidSpec(
                f"{where}.values", f"must be empty for {operator}", "remove the values"
            )
        return cls(key, operator, values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {"key": self.key, "operator": str(self.operator)}
        if self.values:
            out["values"] = list(self.values)
        return out

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        if self.operator is SelectorOperator.EXISTS:
            return self.key in labels
        if self.operator is SelectorOperator.DOES_NOT_EXIST:
            return self.key not in labels
        inside = self.key in labels and labels[self.key] in self.values
        return inside if self.operator is SelectorOperator.IN else not inside


@dataclass(frozen=True)
class LabelSelector:
    """ANDed label requirements; the empty selector matches every node."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def from_dict(cls, data: object, *, where: str) -> LabelSelector:
        """Parse ``matchLabels`` and ``matchExpressions``."""
        data = read.obj(data, where, ("matchLabels", "matchExpressions"))
        labels_path = f"{where}.matchLabels"
        raw = read.mapping(
            data.get("matchLabels") or {}, labels_path, "write it as label key: value pairs"
        )
        labels = {}
        for key, value in raw.items():
            read.checked_string(
                key,
                f"{labels_path}.{key}",
                pattern=QUALIFIED_NAME_PATTERN,
                max_length=QUALIFIED_NAME_MAX,
                hint="a label key like zone",
            )
            labels[key] = _label_value(value, f"{labels_path}.{key}")
        expressions = tuple(
            Requirement.from_dict(item, where=path)
            for path, item in read.items(data, "matchExpressions", where)
        )
        return cls(labels, expressions)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, without empty parts."""
        out: dict[str, Any] = {}
        if self.match_labels:
            out["matchLabels"] = dict(self.match_labels)
        if self.match_expressions:
            out["matchExpressions"] = [r.to_dict() for r in self.match_expressions]
        return out

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a ShareNode with ``labels`` is selected."""
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )


def _label_value(value: object, path: str) -> str:
    return read.checked_string(
        value, path, pattern=LABEL_VALUE_PATTERN, max_length=LABEL_VALUE_MAX, hint="a label value"
    )
