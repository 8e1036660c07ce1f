"""Prometheus metrics of the webhook, on a registry of its own.

Label values come from closed sets (results, codes, kinds): never a pod, secret or
namespace name, so cardinality stays bounded and nothing secret can leak through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class Metrics:
    """Every metric the webhook exports."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.admissions = Counter(
            "kuorum_webhook_admissions",
            "Pod admissions answered, by result and HTTP code.",
            ["result", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kuorum_webhook_admission_seconds",
            "Time to answer one AdmissionReview, inside the webhook.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cached_secrets = Gauge(
            "kuorum_webhook_cached_secrets",
            "DecentralizedSecrets in the watched cache.",
            registry=self.registry,
        )
        self.uninjected_pods = Gauge(
            "kuorum_webhook_uninjected_pods",
            "Pods labelled kuorum.io/inject=true that run without injection (need a restart).",
            registry=self.registry,
        )
        self.rollout_restarts = Counter(
            "kuorum_webhook_rollout_restarts",
            "Opted-in workloads restarted because a secret they consume got a new version.",
            ["kind"],
            registry=self.registry,
        )
        self.certificate_expiry = Gauge(
            "kuorum_webhook_certificate_expiry_timestamp_seconds",
            "Unix time at which the serving certificate in use expires.",
            registry=self.registry,
        )
