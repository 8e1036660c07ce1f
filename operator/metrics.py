"""Prometheus metrics of the operator. Labels carry node names and kinds, never secrets."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True)
class Metrics:
    """The operator's metrics, registered once in the default registry."""

    reconcile_seconds: Histogram = field(
        default_factory=lambda: Histogram(
            "kuorum_operator_reconcile_seconds",
            "Time of one reconciliation of a DecentralizedSecret",
        )
    )
    collection_seconds: Histogram = field(
        default_factory=lambda: Histogram(
            "kuorum_operator_share_collection_seconds", "Time to gather t valid shares"
        )
    )
    node_errors: Counter = field(
        default_factory=lambda: Counter(
            "kuorum_operator_node_errors_total", "Failed calls to share nodes", ["node", "kind"]
        )
    )
    bad_shares: Counter = field(
        default_factory=lambda: Counter(
            "kuorum_operator_bad_shares_total", "Shares that failed verification", ["node"]
        )
    )
    rotations: Counter = field(
        default_factory=lambda: Counter(
            "kuorum_operator_rotations_total", "New versions committed over an existing one"
        )
    )
    secrets: Gauge = field(
        default_factory=lambda: Gauge(
            "kuorum_operator_secrets", "DecentralizedSecrets by their Ready condition", ["ready"]
        )
    )


METRICS = Metrics()
