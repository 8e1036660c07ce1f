"""Delivery benchmark: from pod admission to the files being there, Pod mode vs a Secret.

Starts a local control plane, five ``kuorum node`` processes, the operator and the
webhook, and one generated DecentralizedSecret (3-of-5, hybrid ML-KEM-768+X25519, delivery
Pod). No kubelet runs here, so each run does what the kubelet and the pod would:

- **Kuorum (delivery Pod)**: create the labelled pod (the apiserver calls the webhook,
  which adds the agent), request one pod-bound token per node (the kubelet's projected
  volume), then run the agent's first delivery in process (every node runs its own
  TokenReview and writes its ledger before answering; the agent verifies, combines,
  decrypts and writes the files);
- **peer (plain Secret volume)**: create the same pod without the label, mounting a plain
  Secret that holds the same value, then read that Secret from the apiserver and write
  it to files, as the kubelet does for a Secret volume.

Interpreter and container start are left out of both. Prints one Markdown table
(docs/benchmarks.md format, milliseconds).

    python bench/delivery.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client
from plane import decentralized_secret, local_control_plane, prepare

from kuorum import names
from kuorum.agent.loop import serve
from kuorum.agentconfig import ENV_VAR, AgentConfig
from kuorum.devenv import stack as devstack
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.webhook.agent import CONTAINER

NAMESPACE = "bench"
ACCOUNT = "web"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with local_control_plane() as (plane, directory):
        run(plane, directory, args.runs)


def run(plane: ControlPlane, directory: Path, runs: int) -> None:
    api = prepare(plane, NAMESPACE)
    plane.token(NAMESPACE, ACCOUNT)  # the ServiceAccount
    devstack.start_nodes(plane, 5)
    devstack.start_operator(plane)
    devstack.start_webhook(plane)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        NAMESPACE,
        names.SECRET_PLURAL,
        decentralized_secret(
            "db",
            {
                "threshold": 3,
                "shares": 5,
                "delivery": "Pod",
                "access": {"serviceAccounts": [ACCOUNT]},
                "source": {"generate": {"keys": [{"name": "password", "length": 32}]}},
            },
        ),
    )
    wait_until(lambda: _ready(custom), timeout=120, what="db Ready")
    core.create_namespaced_secret(
        NAMESPACE, {"metadata": {"name": "plain"}, "stringData": {"password": "x" * 32}}
    )
    pod_times = [_pod_delivery(core, directory / f"pod-{i}") for i in range(runs)]
    secret_times = [_secret_volume(core, directory / f"secret-{i}") for i in range(runs)]
    kuorum, peer = statistics.median(pod_times), statistics.median(secret_times)
    print(f"\n{runs} pods each; 5 share nodes, 3-of-5, MLKEM768_X25519; no kubelet\n")
    print("| operation | Kuorum (ms) | peer | peer (ms) | ratio (Kuorum / peer) |")
    print("|---|---:|---|---:|---:|")
    print(
        f"| pod admission to files present, delivery Pod (webhook, 5 pod-bound tokens, "
        f"agent: 5 listings, 5 releases with TokenReview and fsync, verify, combine, write), "
        f"p50 | {kuorum:.1f} | plain Secret volume: pod created, Secret read from the "
        f"apiserver and written | {peer:.1f} | {kuorum / peer:.2f} |"
    )


def _pod_delivery(core: client.CoreV1Api, out: Path) -> float:
    started = time.perf_counter()
    pod = core.create_namespaced_pod(NAMESPACE, _pod(labelled=True))
    (agent,) = [c for c in pod.spec.init_containers if c.name == CONTAINER]
    config = json.loads(next(e.value for e in agent.env if e.name == ENV_VAR))
    tokens = out / "tokens"
    tokens.mkdir(parents=True)
    for node in sorted({n["name"] for s in config["secrets"] for n in s["nodes"]}):
        (tokens / node).write_text(_token(core, pod, node))
    config["tokens"] = str(tokens)
    for secret in config["secrets"]:
        secret["directory"] = str(out / "files")
    status = asyncio.run(
        serve(AgentConfig.from_json(json.dumps(config)), once=True, interval=1, stop=None)
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert status == 0 and (out / "files" / "password").exists()
    core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    return elapsed


def _secret_volume(core: client.CoreV1Api, out: Path) -> float:
    started = time.perf_counter()
    pod = core.create_namespaced_pod(NAMESPACE, _pod(labelled=False))
    secret = core.read_namespaced_secret("plain", NAMESPACE)
    out.mkdir(parents=True)
    for key, value in (secret.data or {}).items():
        (out / key).write_bytes(base64.b64decode(value))
    elapsed = (time.perf_counter() - started) * 1000
    core.delete_namespaced_pod(pod.metadata.name, NAMESPACE)
    return elapsed


def _pod(*, labelled: bool) -> dict[str, Any]:
    volumes = [] if labelled else [{"name": "plain", "secret": {"secretName": "plain"}}]
    mounts = [] if labelled else [{"name": "plain", "mountPath": "/etc/db"}]
    return {
        "metadata": {
            "name": f"p-{uuid.uuid4().hex[:8]}",
            "labels": {names.INJECT_LABEL: "true"} if labelled else {},
            "annotations": {names.VOLUME_ANNOTATION: "db=/etc/db"} if labelled else {},
        },
        "spec": {
            "serviceAccountName": ACCOUNT,
            "volumes": volumes,
            "containers": [{"name": "app", "image": "busybox", "volumeMounts": mounts}],
        },
    }


def _token(core: client.CoreV1Api, pod: Any, node: str) -> str:
    bound = client.V1BoundObjectReference(
        api_version="v1", kind="Pod", name=pod.metadata.name, uid=pod.metadata.uid
    )
    spec = client.V1TokenRequestSpec(
        audiences=[names.node_audience(node)], expiration_seconds=600, bound_object_ref=bound
    )
    answer = core.create_namespaced_service_account_token(
        ACCOUNT, NAMESPACE, client.AuthenticationV1TokenRequest(spec=spec)
    )
    return str(answer.status.token)


def _ready(custom: client.CustomObjectsApi) -> bool:
    obj: Any = custom.get_namespaced_custom_object(
        names.GROUP, names.VERSION, NAMESPACE, names.SECRET_PLURAL, "db"
    )
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


if __name__ == "__main__":
    main()
