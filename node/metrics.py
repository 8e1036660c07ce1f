"""Prometheus metrics of one share node, on a registry of its own.

Labels are closed sets (route templates, status codes, refusal reasons): never a
namespace, a secret name, an identity or anything derived from share material.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RefusalReason(StrEnum):
    """Why a request was refused; the value is the metric label."""

    MISSING_CREDENTIALS = "missing-credentials"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    INVALID_SHARE = "invalid-share"
    CONFLICT = "conflict"


class NodeMetrics:
    """The node's counters and gauges, exposed at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kuorum_node_requests",
            "HTTP requests served, by route template and status code.",
            ["route", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kuorum_node_request_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            registry=self.registry,
        )
        self.shares_held = Gauge(
            "kuorum_node_shares_held", "Share slots held in custody.", registry=self.registry
        )
        self.ledger_size = Gauge(
            "kuorum_node_ledger_size", "Entries in this node's ledger.", registry=self.registry
        )
        self.refusals = Counter(
            "kuorum_node_refusals",
            "Requests refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.witness_rounds = Counter(
            "kuorum_node_witness_requests",
            "Checkpoints sent to peers for cosigning, or pulled from them, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
