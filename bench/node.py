"""Share-node benchmark: releases per second and p50/p99 latency of one real node.

Starts a local control plane (etcd, kube-apiserver, kube-controller-manager) and one
``kuorum node`` process, stores a share, then releases it over and over as the operator
would: HTTPS with the node's pinned certificate, a bearer token checked by TokenReview
(cache warm after the first call), a ledger entry committed and fsynced before each
answer, the share re-sealed to a fresh ephemeral ML-KEM-768+X25519 key. The peer, in
the same run, is the nearest thing a cluster already has: reading a Secret from the
kube-apiserver over HTTPS with a bearer token.

    python bench/node.py [--runs 500] [--clients 4]

Prints one Markdown table (docs/benchmarks.md format, milliseconds) and the rates.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import platform
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client

from kuorum import names, sharing
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import Supervisor, free_port, wait_until
from kuorum.devenv.stack import node_kubeconfig
from kuorum.envelope import EncryptionPrivateKey, NodePublicKeys, ShareContext, seal_share
from kuorum.kube.pinned import pinned_context

NAMESPACE = names.SYSTEM_NAMESPACE
OPERATOR = names.service_account_user(NAMESPACE, names.OPERATOR_ACCOUNT)


class Connection:
    """One keep-alive HTTPS connection, like a real client's pool of one."""

    def __init__(self, host: str, port: int, context: Any, token: str) -> None:
        self._connection = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        self._connection.request(method, path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
        return data


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call after a warm-up (which also warms the token cache)."""
    for _ in range(max(runs // 10, 5)):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def concurrent_rate(make: Callable[[], Callable[[], object]], clients: int, runs: int) -> float:
    """Calls per second with ``clients`` threads, each on its own connection."""
    actions = [make() for _ in range(clients)]
    for action in actions:
        action()
    barrier = threading.Barrier(clients + 1)

    def work(action: Callable[[], object]) -> None:
        barrier.wait()
        for _ in range(runs):
            action()

    threads = [threading.Thread(target=work, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return clients * runs / (time.perf_counter() - start)


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def start_node(plane: ControlPlane, directory: Path) -> tuple[int, Supervisor]:
    install.grant_component(plane.api_client(), "node")
    kubeconfig = node_kubeconfig(plane, "bench-node")
    port = free_port()
    supervisor = Supervisor(directory, tie_to_parent=True)
    supervisor.start(
        "bench-node",
        [
            sys.executable,
            "-m",
            "kuorum",
            "node",
            "--name",
            "bench-node",
            "--data-dir",
            str(directory / "data"),
            "--listen",
            f"127.0.0.1:{port}",
            "--tls-san",
            "127.0.0.1",
            "--kubeconfig",
            str(kubeconfig),
            "--operator-identity",
            OPERATOR,
            "--heartbeat-interval",
            "30",
        ],
    )
    certificate = directory / "data" / "tls.crt"

    def ready() -> bool:
        if not certificate.exists():
            return False
        probe = http.client.HTTPSConnection(
            "127.0.0.1", port, context=pinned_context(certificate.read_text()), timeout=2
        )
        try:
            probe.request("GET", "/readyz")
            return probe.getresponse().status == 200
        except OSError:
            return False
        finally:
            probe.close()

    wait_until(
        ready, timeout=60, what="bench node", interval=0.2, log=supervisor.log_path("bench-node")
    )
    return port, supervisor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kuorum-bench-node-") as temp:
        directory = Path(temp)
        plane = ControlPlane(directory / "control-plane", tie_to_parent=True)
        plane.start()
        supervisor = None
        try:
            api = plane.api_client()
            install.apply_crds(api, install.crd_manifests())
            install.ensure_namespace(api, NAMESPACE)
            port, supervisor = start_node(plane, directory)
            rows, rates = measure(plane, port, args.runs, args.clients)
        finally:
            if supervisor is not None:
                supervisor.stop_all()
            plane.stop()
    print_table(rows, rates, args)


def measure(
    plane: ControlPlane, port: int, runs: int, clients: int
) -> tuple[list[tuple[str, float, str, float]], dict[str, float]]:
    custom = client.CustomObjectsApi(plane.api_client())
    spec = custom.get_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL, "bench-node"
    )["spec"]
    keys = NodePublicKeys.from_dict(spec)
    node_context = pinned_context(spec["tlsCertificate"])
    token = plane.token(
        NAMESPACE, names.OPERATOR_ACCOUNT, audience=names.node_audience("bench-node")
    )
    dealer = ed25519.Ed25519PrivateKey.generate()
    count = runs + max(runs // 10, 5)  # timed runs plus warm-up

    def store_body(version: int) -> bytes:
        dealt = sharing.split(sharing.new_data_key(), 3, 5)
        context = ShareContext("bench", "db", version, 1, "bench-node", "store")
        sealed = seal_share(
            dealt.shares[0], recipient=keys.encryption, context=context, sender=dealer
        )
        return json.dumps(
            {
                "index": 1,
                "threshold": 3,
                "sealedShare": base64.b64encode(sealed.to_bytes()).decode(),
                "commitments": base64.b64encode(dealt.commitments.to_bytes()).decode(),
                "payload": base64.b64encode(b"x" * 256).decode(),
            }
        ).encode()

    stores = iter([(v, store_body(v)) for v in range(1, 2 * count + 1)])  # quiet, then flooded
    writer = Connection("127.0.0.1", port, node_context, token)

    def node_store() -> object:
        version, body = next(stores)
        return writer.call("PUT", f"/v1/shares/bench/db/{version}", body)

    ephemeral = EncryptionPrivateKey.generate()
    release = json.dumps(
        {
            "recipientKey": base64.b64encode(ephemeral.public_key().to_bytes()).decode(),
            "kem": ephemeral.kem,
            "reason": "benchmark",
        }
    ).encode()

    def node_release() -> Callable[[], object]:
        connection = Connection("127.0.0.1", port, node_context, token)
        return lambda: connection.call("POST", "/v1/shares/bench/db/1/release", release)

    peer_token = grant_secret_access(plane)
    server = urlsplit(plane.server)
    apiserver_context = ssl.create_default_context(
        cafile=plane.api_client().configuration.ssl_ca_cert
    )

    def apiserver() -> Connection:
        return Connection(
            str(server.hostname), int(server.port or 443), apiserver_context, peer_token
        )

    secrets_path = f"/api/v1/namespaces/{NAMESPACE}/secrets"
    created = iter(range(count))
    secret = base64.b64encode(b"x" * 64).decode()
    creator = apiserver()

    def secret_create() -> object:
        body = {"metadata": {"name": f"bench-{next(created)}"}, "data": {"key": secret}}
        return creator.call("POST", secrets_path, json.dumps(body).encode())

    def secret_get() -> Callable[[], object]:
        connection = apiserver()
        return lambda: connection.call("GET", f"{secrets_path}/bench-0")

    store_samples = timed(node_store, runs)
    create_samples = timed(secret_create, runs)
    release_samples = timed(node_release(), runs)
    get_samples = timed(secret_get(), runs)
    release_rate = concurrent_rate(node_release, clients, runs // clients)
    get_rate = concurrent_rate(secret_get, clients, runs // clients)
    wrong = plane.token(NAMESPACE, names.OPERATOR_ACCOUNT, audience=names.node_audience("other"))
    with Flood(port, node_context, wrong):
        flooded_store = timed(node_store, runs)
        flooded_release = timed(node_release(), runs)
    quiet = "the same, no flood (above)"
    writes = "kube-apiserver POST Secret (TLS, token, RBAC)"
    reads = "kube-apiserver GET Secret (TLS, token, RBAC)"
    rows = [
        (
            "store 1 share (verify, ledger + fsync), p50",
            statistics.median(store_samples),
            writes,
            statistics.median(create_samples),
        ),
        ("store 1 share, p99", p(store_samples, 99), writes, p(create_samples, 99)),
        (
            "release 1 share (ledger + fsync, re-seal), 1 client, p50",
            statistics.median(release_samples),
            reads,
            statistics.median(get_samples),
        ),
        ("release 1 share, 1 client, p99", p(release_samples, 99), reads, p(get_samples, 99)),
        (
            f"release 1 share, {clients} clients, time per release (1 / rate)",
            1000 / release_rate,
            reads,
            1000 / get_rate,
        ),
        (
            f"store 1 share during a flood ({FLOODERS} hostile clients), p50",
            statistics.median(flooded_store),
            quiet,
            statistics.median(store_samples),
        ),
        ("store during a flood, p99", p(flooded_store, 99), quiet, p(store_samples, 99)),
        (
            "release 1 share during a flood, p50",
            statistics.median(flooded_release),
            quiet,
            statistics.median(release_samples),
        ),
        ("release during a flood, p99", p(flooded_release, 99), quiet, p(release_samples, 99)),
    ]
    rates = {
        "node": release_rate,
        "peer": get_rate,
        "node_1": 1000 / statistics.mean(release_samples),
        "peer_1": 1000 / statistics.mean(get_samples),
    }
    return rows, rates


FLOODERS = 2


class Flood:
    """Hostile clients hammering the node while the block runs: no token, another node's
    token, junk add-checkpoint bodies (each refused before any TokenReview)."""

    def __init__(self, port: int, context: Any, wrong_token: str) -> None:
        self._port, self._context, self._wrong = port, context, wrong_token
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(FLOODERS)]
        self.sent = 0

    def _run(self) -> None:
        requests = [
            ("PUT", "/v1/shares/bench/db/9", {}),
            ("GET", "/v1/shares/bench/db", {"Authorization": f"Bearer {self._wrong}"}),
            ("POST", "/v1/ledger/add-checkpoint", {}),
        ]
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self._port, context=self._context, timeout=30
        )
        while not self._stop.is_set():
            for method, path, headers in requests:
                connection.request(method, path, body=b"junk", headers=headers)
                connection.getresponse().read()
                self.sent += 1

    def __enter__(self) -> Flood:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def grant_secret_access(plane: ControlPlane) -> str:
    """A token of a ServiceAccount that may get and create Secrets in the namespace."""
    token = plane.token(NAMESPACE, "bench-peer")
    rbac = client.RbacAuthorizationV1Api(plane.api_client())
    rbac.create_namespaced_role(
        NAMESPACE,
        {
            "metadata": {"name": "bench-peer"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        NAMESPACE,
        {
            "metadata": {"name": "bench-peer"},
            "subjects": [{"kind": "ServiceAccount", "name": "bench-peer", "namespace": NAMESPACE}],
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "bench-peer",
            },
        },
    )
    authorization = client.AuthorizationV1Api(plane.api_client())
    review = {
        "spec": {
            "user": names.service_account_user(NAMESPACE, "bench-peer"),
            "resourceAttributes": {"namespace": NAMESPACE, "verb": "create", "resource": "secrets"},
        }
    }
    wait_until(
        lambda: bool(authorization.create_subject_access_review(review).status.allowed),
        timeout=30,
        what="RBAC for the benchmark's Secret client",
    )
    return token


def print_table(
    rows: list[tuple[str, float, str, float]], rates: dict[str, float], args: argparse.Namespace
) -> None:
    print("| operation | Kuorum (ms) | peer | peer (ms) | ratio (Kuorum / peer) |")
    print("|---|---:|---|---:|---:|")
    for operation, ours, peer, theirs in rows:
        print(f"| {operation} | {ours:,.2f} | {peer} | {theirs:,.2f} | {ours / theirs:,.2f} |")
    print()
    print(
        f"Releases per second: {rates['node_1']:,.0f} with 1 client, {rates['node']:,.0f} "
        f"with {args.clients} clients (kube-apiserver Secret GETs: {rates['peer_1']:,.0f} "
        f"and {rates['peer']:,.0f})."
    )
    print(
        f"Machine: {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {platform.platform()}. "
        f"Command: python bench/node.py --runs {args.runs} --clients {args.clients}."
    )


if __name__ == "__main__":
    main()
