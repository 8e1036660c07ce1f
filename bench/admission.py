"""Admission benchmark: what the webhook adds to a pod creation, on a real apiserver.

Starts a local control plane (etcd, kube-apiserver, kube-controller-manager) and a real
``kuorum webhook`` process registered by URL, then creates the same labelled pod
(env + volume injection of one Ready DecentralizedSecret) N times **with** the webhook
registered, N times **without** it (configuration deleted), and N times with a minimal
compiled webhook registered in its place (``bench/webhookpeer``, Go: TLS, decode,
answer the same patch), alternating blocks so drift hits all alike; sequentially and
from 20 threads at once. Prints one Markdown table (docs/benchmarks.md format, in
milliseconds): p50 and p99 of each, the ratio, and the latency each webhook adds. Also
each webhook's own service time (POST straight to the process) and Kuorum's handler
alone, in-process. Needs Go (the peer is built once into ``~/.cache/kuorum/bench``).

    python bench/admission.py [--pods 200] [--concurrency 20] [--blocks 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.client
import json
import os
import platform
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.pki import WEBHOOK_CLIENT
from kuorum.devenv.processes import free_port, wait_until
from kuorum.kube.client import api_client
from kuorum.kube.raw import raw
from kuorum.webhook import registration
from kuorum.webhook.admission import Admission
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.server import answer

NAMESPACE = "bench"
PEER = "no webhook registered (same apiserver, same run)"
COMPILED = "minimal compiled webhook, same patch (Go, same run)"
WITH, WITHOUT, MINIMAL = "with", "without", "minimal"
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
        body = pod(prefix, labelled=prefix != WITHOUT)
        core = self.core()
        start = time.perf_counter()
        core.create_namespaced_pod(NAMESPACE, body)
        return time.perf_counter() - start

    def run(self, prefix: str, count: int, concurrency: int) -> list[float]:
        if concurrency == 1:
            return [self.timed_create(prefix) for _ in range(count)]
        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(lambda _: self.timed_create(prefix), range(count)))


SPEC = {"threshold": 2, "shares": 3, "source": {"generate": {"keys": [{"name": "password"}]}}}
"""The benchmark's DecentralizedSecret (in the apiserver, and in the in-process cache)."""
MARKER = "bench.kuorum.io/served-by"
"""Added by the peer's patch only: tells which webhook the apiserver called."""


def serving(plane: ControlPlane, mode: str) -> Callable[[], bool]:
    """A check that the apiserver's view of the configuration has settled on ``mode``."""

    def check() -> bool:
        core = client.CoreV1Api(plane.api_client())
        body = pod("probe")
        try:
            core.create_namespaced_pod(NAMESPACE, body)
        except client.ApiException:
            return False
        annotations = raw(core.read_namespaced_pod, body["metadata"]["name"], NAMESPACE)[
            "metadata"
        ]["annotations"]
        if mode == WITHOUT:
            return names.INJECTED_ANNOTATION not in annotations
        return names.INJECTED_ANNOTATION in annotations and (MARKER in annotations) == (
            mode == MINIMAL
        )

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
            "spec": SPEC,
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


def kuorum_answer() -> dict[str, Any]:
    """What Kuorum's handler answers for the benchmark's pod (its patch is the peer's)."""
    admission, metrics = _handler()
    _, review = answer(admission, metrics, _review_body())
    return review


def _review_body() -> bytes:
    return json.dumps(review_of(pod("handler"))).encode()


def _handler() -> tuple[Admission, Metrics]:
    """Kuorum's admission handler over a cache holding the benchmark's Ready secret."""
    cache = SecretCache()
    cache.replace_all(
        [
            {
                "metadata": {"namespace": NAMESPACE, "name": "db"},
                "spec": SPEC,
                "status": {"version": 1, "conditions": [{"type": "Ready", "status": "True"}]},
            }
        ]
    )
    return Admission(cache.lookup), Metrics()


def handler_rows(runs: int) -> list[Row]:
    """The handler alone, in-process: decode, cache lookup, policy, patch, encode."""
    admission, metrics = _handler()
    body = _review_body()
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
    plane: ControlPlane, webhook: local.LocalWebhook, peer: Peer, args: argparse.Namespace
) -> list[Row]:
    api = plane.api_client()
    creator = Creator(plane.kubeconfig)
    rows: list[Row] = []
    for concurrency, label in (
        (1, "sequential"),
        (args.concurrency, f"{args.concurrency} concurrent"),
    ):
        times: dict[str, list[float]] = {WITH: [], WITHOUT: [], MINIMAL: []}
        per_block = args.pods // args.blocks
        for _ in range(args.blocks):
            local.unregister(api)
            wait_until(serving(plane, WITHOUT), timeout=30, what="unregistration")
            times[WITHOUT] += creator.run(WITHOUT, per_block, concurrency)
            for mode, url in ((WITH, webhook.url), (MINIMAL, peer.url)):
                local.register(api, webhook.configuration() | _pointing_to(webhook, url))
                wait_until(serving(plane, mode), timeout=30, what=f"registration ({mode})")
                times[mode] += creator.run(mode, per_block, concurrency)
        n = len(times[WITH])
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            kuorum, none, minimal = (percentile(times[m], fraction) for m in times)
            rows += [
                Row(f"pod create, {label}, {name} (N={n})", kuorum, PEER, none),
                Row(f"pod create, {label}, {name} (N={n})", kuorum, COMPILED, minimal),
                Row(
                    f"added by the webhook, {label}, {name}",
                    kuorum - none,
                    "added by the minimal compiled webhook",
                    minimal - none,
                ),
            ]
    return rows


def _pointing_to(webhook: local.LocalWebhook, url: str) -> dict[str, Any]:
    """The configuration's ``webhooks`` with every clientConfig sent to ``url``."""
    hooks = webhook.configuration()["webhooks"]
    return {"webhooks": [h | {"clientConfig": h["clientConfig"] | {"url": url}} for h in hooks]}


@dataclass
class Peer:
    """The minimal compiled webhook, serving the patch Kuorum's webhook answers for the
    benchmark's pod, with the same serving certificate and client CA."""

    directory: Path
    webhook: local.LocalWebhook
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{registration.MUTATE_PATH}"

    def start(self) -> None:
        binary = _build_peer()
        patch = self.directory / "patch.json"
        ops = json.loads(base64.b64decode(kuorum_answer()["response"]["patch"]))
        marker = "/metadata/annotations/" + MARKER.replace("/", "~1")
        patch.write_text(json.dumps([*ops, {"op": "add", "path": marker, "value": "minimal"}]))
        tls_dir = self.webhook.tls_directory
        self.process = subprocess.Popen(
            [
                str(binary),
                f"127.0.0.1:{self.port}",
                str(tls_dir / "tls.crt"),
                str(tls_dir / "tls.key"),
                str(self.webhook.client_ca),
                str(patch),
            ]
        )
        context = ssl.create_default_context(cadata=self.webhook.ca_bundle.decode())
        wait_until(lambda: _answers(self.port, context), timeout=30, what="the peer webhook")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()


def _build_peer() -> Path:
    """``bench/webhookpeer`` compiled once (rebuilt when its source is newer)."""
    source = Path(__file__).parent / "webhookpeer" / "main.go"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    binary = base / "kuorum" / "bench" / "webhookpeer"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        binary.parent.mkdir(parents=True, exist_ok=True)
        build = ["go", "build", "-o", str(binary), source.name]
        subprocess.run(build, cwd=source.parent, check=True)
    return binary


def _answers(port: int, context: ssl.SSLContext) -> bool:
    try:
        https = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
        https.request("GET", "/readyz")
        return https.getresponse().status == 200
    except OSError:
        return False


def direct_rows(
    plane: ControlPlane, webhook: local.LocalWebhook, peer: Peer, args: argparse.Namespace
) -> list[Row]:
    """POST /mutate straight to each process over TLS with keep-alive, no apiserver,
    presenting the apiserver's webhook client certificate.

    Each webhook's own service time (TLS, HTTP, handler) as a client sees it, to tell it
    apart from what the machine's saturation adds to an apiserver round trip.
    """
    context = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    context.load_cert_chain(*plane.pki.client(WEBHOOK_CLIENT))
    kuorum = _direct(webhook.port, context, args)
    minimal = _direct(peer.port, context, args)
    return [
        Row(f"POST /mutate direct (TLS keep-alive), {label}", mine, COMPILED, theirs)
        for (label, mine), (_, theirs) in zip(kuorum, minimal, strict=True)
    ]


def _direct(
    port: int, context: ssl.SSLContext, args: argparse.Namespace
) -> list[tuple[str, float]]:
    body = json.dumps(review_of(pod(WITH))).encode()
    headers = {"Content-Type": "application/json"}
    connections = threading.local()

    def timed_post(_: int) -> float:
        if not hasattr(connections, "https"):
            connections.https = http.client.HTTPSConnection("127.0.0.1", port, context=context)
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
            rows.append((f"{label}, {name}", percentile(samples, fraction)))
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
            peer = Peer(Path(directory), webhook)
            try:
                peer.start()
                runs = [
                    measure(plane, webhook, peer, args)
                    + direct_rows(plane, webhook, peer, args)
                    + handler_rows(args.handler_runs)
                    for _ in range(args.repeat)
                ]
            finally:
                peer.stop()
                webhook.stop()
        finally:
            plane.stop()
    print_table(combine(runs), args)


if __name__ == "__main__":
    main()
