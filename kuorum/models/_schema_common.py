"""Schema pieces both CRDs use: metav1.Condition lists and metav1.LabelSelector."""

from __future__ import annotations

from kuorum.models._limits import (
    LABEL_VALUE_MAX,
    LABEL_VALUE_PATTERN,
    QUALIFIED_NAME_MAX,
    QUALIFIED_NAME_PATTERN,
    SelectorOperator,
)
from kuorum.models._openapi import (
    Schema,
    array,
    cel_regex,
    integer,
    obj,
    rule,
    string,
    string_map,
    timestamp,
)


def conditions(types: str) -> Schema:
    """``status.conditions`` in the standard metav1.Condition shape."""
    condition = obj(
        "One aspect of the resource's state (metav1.Condition).",
        {
            "type": string(f"Which aspect: {types}.", max_length=316),
            "status": string("True, False or Unknown.", enum=("True", "False", "Unknown")),
            "reason": string(
                "Why, in one CamelCase word a program can switch on "
                "(e.g. Committed, WaitingForNodes, BadShares).",
                max_length=1024,
            ),
            "message": string("Why, for humans: what happened and what to do.", max_length=32768),
            "lastTransitionTime": timestamp("When status last changed."),
            "observedGeneration": integer(
                "metadata.generation the condition was computed "
                "from; older than the resource's means stale.",
                minimum=0,
            ),
        },
        required=("type", "status", "reason", "message", "lastTransitionTime"),
    )
    return array(
        f"Current state as conditions ({types}); see `kubectl describe`.",
        condition,
        max_items=16,
        list_type="map",
        map_keys=("type",),
    )


_SET_OPERATORS = "['" + "', '".join((SelectorOperator.IN, SelectorOperator.NOT_IN)) + "']"


def label_selector(description: str) -> Schema:
    """A metav1.LabelSelector; requirements are ANDed; empty selects everything."""
    value = string("A label value.", pattern=LABEL_VALUE_PATTERN, max_length=LABEL_VALUE_MAX)
    requirement = obj(
        "A label requirement: key, operator and (for In/NotIn) values.",
        {
            "key": string(
                "The label key the requirement applies to.",
                pattern=QUALIFIED_NAME_PATTERN,
                max_length=QUALIFIED_NAME_MAX,
            ),
            "operator": string(
                "How the key relates to the values: In, NotIn, Exists or DoesNotExist.",
                enum=SelectorOperator,
            ),
            "values": array(
                "Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.",
                value,
                max_items=64,
                list_type="atomic",
            ),
        },
        required=("key", "operator"),
        rules=[
            rule(
                f"self.operator in {_SET_OPERATORS} ? "
                "has(self.values) && size(self.values) > 0 : "
                "!has(self.values) || size(self.values) == 0",
                "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
                field_path=".values",
            )
        ],
    )
    return obj(
        description,
        {
            "matchLabels": string_map(
                "Labels a node must carry, key to value.",
                value,
                max_properties=64,
                rules=[
                    rule(
                        f"self.all(k, k.matches({cel_regex(QUALIFIED_NAME_PATTERN)}))",
                        "every matchLabels key must be a label key like "
                        "topology.kubernetes.io/zone",
                    )
                ],
            ),
            "matchExpressions": array(
                "Label requirements a node must meet.",
                requirement,
                max_items=64,
                list_type="atomic",
            ),
        },
        atomic=True,
    )
