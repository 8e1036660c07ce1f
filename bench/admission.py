"""Admission benchmark: what the webhook adds to a pod creation, on a real apiserver.

Starts a local control plane (etcd, kube-apiserver, kube-controller-manager) and a real
``kuorum webhook`` process registered by URL, then creates the same labelled pod
(env + volume injection of one Ready DecentralizedSecret) N times **with** the webhook
registered and N times **without** it (configuration deleted), alternating blocks so
drift hits both alike; sequentially and from 20 threads at once. Prints one Markdown
table (docs/benchmarks.md format, in milliseconds): p50 and p99 of each, the ratio,
and the added latency. Also times the handler alone, in-process, for reference.

    python bench/admission.py [--pods 200] [--concurrency 20] [--blocks 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import ssl
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.kube.client import api_client
from kuorum.kube.raw import raw
from kuorum.webhook.admission import Admission
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.server import answer

NAMESPACE = "bench"
PEER = "no webhook registered (same apiserver, same run)"
WITH, WITHOUT = "with", "without"
"""Pods created without the webhook carry no inject label: otherwise the webhook's repair
watch would report each one (an Event per pod), loading the apiserver during the
baseline. Without a webhook registered the label changes nothing else."""
ANNOTATIONS = {
    names.ENV_ANNOTATION: "db(password=DB_PASSWORD)",
    names.VOLUME_ANNOTATION: "db=/etc/db",
}


@dataclass(frozen=True)
class Row:
    operation: str
    kuorum: float
    peer: str = "—"
    peer_ms: float | None = None


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


def pod(prefix: str, *, labelled: bool = True) -> Any:
    """The benchmark pod; unlabelled pods are what the apiserver stores without a webhook."""
    return {
        "metadata": {
            "name": f"{prefix}-{uuid.uuid4().hex[:10]}",
            "labels": {names.INJECT_LABEL: "true"} if labelled else {"app": "bench"},
            "annotations": ANNOTATIONS,
        },
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
    }


class Creator:
    """Creates pods and times each call; one API client per thread (no pool contention)."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self._local = threading.local()

    def core(self) -> client.CoreV1Api:
        if not hasattr(self._local, "core"):
            self._local.core = client.CoreV1Api(api_client(self.kubeconfig))
        core: client.CoreV1Api = self._local.core
        return core

    def timed_create(self, prefix: str) -> float:
        body = pod(prefix, labelled=prefix == WITH)
        core = self.core()
        start = time.perf_counter()
        core.create_namespaced_pod(NAMESPACE, body)
        return time.perf_counter() - start

    def run(self, prefix: str, count: int, concurrency: int) -> list[float]:
        if concurrency == 1:
            return [self.timed_create(prefix) for _ in range(count)]
        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(lambda _: self.timed_create(prefix), range(count)))


def injected(plane: ControlPlane, expected: bool) -> Callable[[], bool]:
    """A check that the apiserver's view of the configuration has settled."""

    def check() -> bool:
        core = client.CoreV1Api(plane.api_client())
        body = pod("probe")
        try:
            core.create_namespaced_pod(NAMESPACE, body)
        except client.ApiException:
            return False
        stored = raw(core.read_namespaced_pod, body["metadata"]["name"], NAMESPACE)
        return (names.INJECTED_ANNOTATION in stored["metadata"]["annotations"]) == expected

    return check


def prepare(plane: ControlPlane) -> None:
    """CRDs, namespace, a Ready DecentralizedSecret and its target Secret."""
    api = plane.api_client()
    install.apply_crds(api, install.crd_manifests())
    install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
    install.grant_component(api, "webhook")
    plane.create_namespace(NAMESPACE)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        NAMESPACE,
        names.SECRET_PLURAL,
        {
            "apiVersion": names.API_VERSION,
            "kind": names.SECRET_KIND,
            "metadata": {"name": "db"},
            "spec": {
                "threshold": 2,
                "shares": 3,
                "source": {"generate": {"keys": [{"name": "password"}]}},
            },
        },
    )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "Materialized",
        "message": "set by the benchmark",
        "lastTransitionTime": now,
    }
    custom.patch_namespaced_custom_object_status(
        names.GROUP,
        names.VERSION,
        NAMESPACE,
        names.SECRET_PLURAL,
        "db",
        {"status": {"version": 1, "conditions": [ready]}},
        _content_type="application/merge-patch+json",
    )


def review_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The AdmissionReview the apiserver sends for creating ``obj`` in NAMESPACE."""
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": NAMESPACE,
            "object": obj,
        },
    }


def handler_rows(runs: int) -> list[Row]:
    """The handler alone, in-process: decode, cache lookup, policy, patch, encode."""
    cache = SecretCache()
    cache.replace_all(
        [
            {
                "metadata": {"namespace": NAMESPACE, "name": "db"},
                "spec": {},
                "status": {"version": 1, "conditions": [{"type": "Ready", "status": "True"}]},
            }
        ]
    )
    admission, metrics = Admission(cache.lookup), Metrics()
    body = json.dumps(review_of(pod("handler"))).encode()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        answer(admission, metrics, body)
        samples.append(time.perf_counter() - start)
    return [
        Row("handler alone, in-process, p50", percentile(samples, 0.5)),
        Row("handler alone, in-process, p99", percentile(samples, 0.99)),
    ]


def measure(
    plane: ControlPlane, webhook: local.LocalWebhook, args: argparse.Namespace
) -> list[Row]:
    api = plane.api_client()
    creator = Creator(plane.kubeconfig)
    rows: list[Row] = []
    for concurrency, label in (
        (1, "sequential"),
        (args.concurrency, f"{args.concurrency} concurrent"),
    ):
        with_hook: list[float] = []
        without: list[float] = []
        per_block = args.pods // args.blocks
        for _ in range(args.blocks):
            local.unregister(api)
            wait_until(injected(plane, False), timeout=30, what="unregistration")
            without += creator.run(WITHOUT, per_block, concurrency)
            local.register(api, webhook.configuration())
            wait_until(injected(plane, True), timeout=30, what="registration")
            with_hook += creator.run(WITH, per_block, concurrency)
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            kuorum, peer = percentile(with_hook, fraction), percentile(without, fraction)
            rows.append(
                Row(f"pod create, {label}, {name} (N={len(with_hook)})", kuorum, PEER, peer)
            )
            rows.append(Row(f"added by the webhook, {label}, {name}", kuorum - peer))
    return rows


def direct_rows(webhook: local.LocalWebhook, args: argparse.Namespace) -> list[Row]:
    """POST /mutate straight to the process over TLS with keep-alive, no apiserver.

    The webhook's own service time (TLS, aiohttp, handler) as a client sees it, to tell
    it apart from what the machine's saturation adds to an apiserver round trip.
    """
    context = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    body = json.dumps(review_of(pod(WITH))).encode()
    headers = {"Content-Type": "application/json"}
    connections = threading.local()

    def timed_post(_: int) -> float:
        if not hasattr(connections, "https"):
            connections.https = http.client.HTTPSConnection(
                "127.0.0.1", webhook.port, context=context
            )
        https: http.client.HTTPSConnection = connections.https
        start = time.perf_counter()
        https.request("POST", "/mutate", body=body, headers=headers)
        response = https.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"/mutate answered {response.status}")
        return elapsed

    rows = []
    for concurrency, label in (
        (1, "sequential"),
        (args.concurrency, f"{args.concurrency} concurrent"),
    ):
        with ThreadPoolExecutor(concurrency) as pool:
            samples = list(pool.map(timed_post, range(args.pods)))
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            rows.append(
                Row(
                    f"POST /mutate direct (TLS keep-alive), {label}, {name}",
                    percentile(samples, fraction),
                )
            )
    return rows


def combine(runs: list[list[Row]]) -> list[Row]:
    """Each figure's median over the repeated runs (the machine is shared: one run can be
    hit by someone else's load; the median of whole runs is the stable number)."""
    combined = []
    for rows in zip(*runs, strict=True):
        peers = [row.peer_ms for row in rows if row.peer_ms is not None]
        combined.append(
            Row(
                rows[0].operation,
                statistics.median(row.kuorum for row in rows),
                rows[0].peer,
                statistics.median(peers) if peers else None,
            )
        )
    return combined


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print("| operation | Kuorum (ms) | peer | peer (ms) | ratio (Kuorum / peer) |")
    print("|---|---:|---|---:|---:|")
    for row in rows:
        peer = "—" if row.peer_ms is None else f"{row.peer_ms:,.2f}"
        ratio = "—" if row.peer_ms is None else f"{row.kuorum / row.peer_ms:.2f}"
        print(f"| {row.operation} | {row.kuorum:,.2f} | {row.peer} | {peer} | {ratio} |")
    print()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
        f"Command: python bench/admission.py --pods {args.pods} --concurrency "
        f"{args.concurrency} --blocks {args.blocks} --repeat {args.repeat}. "
        f"Date: {datetime.date.today()}. Each figure: median over {args.repeat} runs."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200, help="pods per mode and shape")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=2, help="alternating blocks per mode")
    parser.add_argument("--handler-runs", type=int, default=5000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="whole runs; each figure is their median"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuorum-bench-") as directory:
        plane = ControlPlane(Path(directory) / "plane", tie_to_parent=True)
        plane.start()
        try:
            prepare(plane)
            webhook = local.LocalWebhook(
                Path(directory) / "webhook",
                plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.WEBHOOK_ACCOUNT),
                client_ca=plane.pki.ca_cert,
            )
            webhook.start()
            try:
                runs = [
                    measure(plane, webhook, args)
                    + direct_rows(webhook, args)
                    + handler_rows(args.handler_runs)
                    for _ in range(args.repeat)
                ]
            finally:
                webhook.stop()
        finally:
            plane.stop()
    print_table(combine(runs), args)


if __name__ == "__main__":
    main()
