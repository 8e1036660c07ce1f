"""How long N DecentralizedSecrets take to become Ready, and the operator's peak memory.

    python bench/reconcile.py [--secrets 500]

Runs a local control plane, 5 share nodes and the operator (as ``kuorum dev up`` does),
applies N generated secrets (3-of-5) at once and waits until every one is Ready. The
peer, in the same run and on the same apiserver: N plain Kubernetes Secrets created the
same way, i.e. what storing the values without splitting, custody or audit costs.
Prints one table in the format of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client
from plane import decentralized_secret, local_control_plane, prepare

from kuorum import names
from kuorum.devenv import stack as devstack
from kuorum.devenv.controlplane import ControlPlane

NAMESPACE = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=500)
    args = parser.parse_args()
    with local_control_plane() as (plane, _):
        run(plane, args.secrets)


def run(plane: ControlPlane, count: int) -> None:
    api = prepare(plane, NAMESPACE)
    devstack.start_nodes(plane, 5)
    devstack.start_operator(plane)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)

    started = time.monotonic()
    _parallel(
        lambda i: core.create_namespaced_secret(
            NAMESPACE, {"metadata": {"name": f"plain-{i}"}, "stringData": {"password": "x" * 32}}
        ),
        count,
    )
    plain = time.monotonic() - started

    started = time.monotonic()
    _parallel(
        lambda i: custom.create_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            NAMESPACE,
            names.SECRET_PLURAL,
            decentralized_secret(
                f"dsec-{i}",
                {
                    "threshold": 3,
                    "shares": 5,
                    "source": {"generate": {"keys": [{"name": "password"}]}},
                },
            ),
        ),
        count,
    )
    applied = time.monotonic() - started
    pid = next(r.pid for r in plane.supervisor.records() if r.name == "kuorum-operator")
    while _ready(custom) < count:
        time.sleep(1)
    ready = time.monotonic() - started
    peak = _peak_rss_mib(pid)

    print(f"\n{count} DecentralizedSecrets, 3-of-5, generated; 5 share nodes; one operator\n")
    print("| operation | Kuorum | peer | peer | ratio (Kuorum / peer) |")
    print("|---|---:|---|---:|---:|")
    print(
        f"| apply {count} objects (s) | {applied:.1f} | {count} plain Secrets created | "
        f"{plain:.1f} | {applied / plain:.1f} |"
    )
    print(
        f"| all {count} Ready: dealt, stored on 5 nodes, materialized (s) | {ready:.1f} | "
        f"{count} plain Secrets created | {plain:.1f} | {ready / plain:.1f} |"
    )
    print(f"| operator peak RSS (MiB) | {peak:.0f} | — | — | — |")


def _parallel(create: Any, count: int) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def _ready(custom: client.CustomObjectsApi) -> int:
    listed: Any = custom.list_namespaced_custom_object(
        names.GROUP, names.VERSION, NAMESPACE, names.SECRET_PLURAL
    )
    return sum(
        1
        for obj in listed["items"]
        for c in (obj.get("status") or {}).get("conditions") or []
        if c["type"] == "Ready" and c["status"] == "True"
    )


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


if __name__ == "__main__":
    main()
