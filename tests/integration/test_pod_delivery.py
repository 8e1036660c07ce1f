"""Delivery Pod end to end on a real apiserver, with real nodes, operator, webhook and agent.

A pod is created through the apiserver, which calls the real webhook over TLS; the
admitted pod carries the agent sidecar. No kubelet runs on this control plane (the
real-node suite, tests/node/test_workloads.py, runs the agent inside a real pod), so the
test does what the kubelet would: it asks TokenRequest for tokens bound to that pod (one
per node, with that node's audience) and runs a real ``kuorum agent`` process with the
admitted config, pointing only its directories at a scratch path. Every node checks the pod itself.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client
from nodes import (  # noqa: F401
    ShareNodes,
    ledger_entries,
    public_keys,
    release,
    share_nodes_fixture,
)
from operators import (  # noqa: F401
    NODE_FLAGS,
    OperatorProcess,
    apply_secret,
    get_secret,
    namespace_fixture,
    operator_fixture,
    secret_exists,
    wait_for,
)
from webhooks import webhook_fixture  # noqa: F401

from kuorum import names
from kuorum.accessrule import AccessRule
from kuorum.agentconfig import ENV_VAR, AgentConfig
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.ledger import Entry, EntryKind
from kuorum.models import DEFAULT_SECRET_TYPE, Access, Delivery
from kuorum.sealing import Recipient, seal
from kuorum.webhook.agent import CONTAINER

pytestmark = pytest.mark.integration

ACCESS = {"serviceAccounts": ["web"]}
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
VALUES = {1: {"password": b"pod-only-v1-" + uuid.uuid4().hex.encode()}}
VALUES[2] = {"password": b"pod-only-v2-" + uuid.uuid4().hex.encode()}


def _sealed_spec(
    plane: ControlPlane, share_nodes: ShareNodes, namespace: str, version: int
) -> dict[str, Any]:
    """What ``kuorum seal --delivery Pod --access-service-account web`` prints."""
    rule = AccessRule(
        "db", DEFAULT_SECRET_TYPE, Access(service_accounts=("web",)), None, Delivery.POD
    )
    sealed = seal(
        VALUES[version],
        namespace=namespace,
        name="db",
        version=version,
        threshold=2,
        recipients=[Recipient(n.name, public_keys(plane, n)) for n in share_nodes.nodes],
        sealer=ed25519.Ed25519PrivateKey.generate(),
        rule=rule.digest(),
    )
    return {
        "threshold": 2,
        "shares": 3,
        "delivery": "Pod",
        "access": ACCESS,
        "source": {"sealed": sealed.to_dict()},
    }


def _ready(
    plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    """Apply db, sealed as version 1 with delivery Pod, and wait until it is Ready."""
    apply_secret(plane, namespace, "db", _sealed_spec(plane, share_nodes, namespace, 1))
    wait_for(plane, namespace, "db", "Ready", "True", operator=operator)


def _pod(plane: ControlPlane, namespace: str, name: str, account: str, *, label: bool) -> Any:
    """Create a pod that mounts db (admitted by the webhook when labelled); the webhook's
    cache may lag the Ready it is to see by a moment, so a refusal is retried."""
    core = client.CoreV1Api(plane.api_client())
    plane.token(namespace, account)  # creates the ServiceAccount
    body = {
        "metadata": {
            "name": name,
            "labels": {names.INJECT_LABEL: "true"} if label else {},
            "annotations": {names.VOLUME_ANNOTATION: "db=/etc/db"},
        },
        "spec": {
            "serviceAccountName": account,
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "imagePullPolicy": "Never",
                    "command": ["sha256sum", "/etc/db/password"],
                    "securityContext": RESTRICTED,  # per container: the agent must be too
                }
            ],
        },
    }
    created: list[Any] = []

    def create() -> bool:
        try:
            created.append(core.create_namespaced_pod(namespace, body))
        except client.ApiException as error:
            if error.status != 503:
                raise
            return False
        return True

    wait_until(create, timeout=30, what=f"pod {namespace}/{name} admitted")
    return created[0]


def _tokens(plane: ControlPlane, pod: Any, nodes: list[str], directory: Path) -> Path:
    """What the kubelet projects: per node, a token bound to ``pod`` for that node."""
    core = client.CoreV1Api(plane.api_client())
    directory.mkdir(parents=True)
    bound = client.V1BoundObjectReference(
        api_version="v1", kind="Pod", name=pod.metadata.name, uid=pod.metadata.uid
    )
    for node in nodes:
        spec = client.V1TokenRequestSpec(
            audiences=[names.node_audience(node)], expiration_seconds=600, bound_object_ref=bound
        )
        answer = core.create_namespaced_service_account_token(
            pod.spec.service_account_name,
            pod.metadata.namespace,
            client.AuthenticationV1TokenRequest(spec=spec),
        )
        (directory / node).write_text(answer.status.token)
    return directory


def _config(pod: Any, tokens: Path, out: Path) -> str:
    """The admitted agent's config, with its directory and tokens moved to scratch paths."""
    (agent,) = [c for c in pod.spec.init_containers if c.name == CONTAINER]
    (env,) = [e for e in agent.env if e.name == ENV_VAR]
    config = json.loads(env.value)
    config["tokens"] = str(tokens)
    for secret in config["secrets"]:
        secret["directory"] = str(out)
    AgentConfig.from_json(json.dumps(config))  # still what the agent reads
    return json.dumps(config)


def _agent(config: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kuorum", "agent", *args],
        env={"PATH": "/usr/bin:/bin", ENV_VAR: config},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _entries(share_nodes: ShareNodes) -> list[Entry]:
    return [Entry.from_bytes(e) for n in share_nodes.nodes for e in ledger_entries(n)]


def test_the_values_reach_only_the_pod_the_rule_allows_and_every_node_checks_it(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    webhook: local.LocalWebhook,
    namespace: str,
    tmp_path: Path,
) -> None:
    client.CoreV1Api(control_plane.api_client()).patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )  # the injected agent keeps a pod "restricted" that was
    share_nodes.start(2, extra=NODE_FLAGS)
    (liar,) = share_nodes.start(1, extra=[*NODE_FLAGS, "--unsafe-corrupt-releases"])
    _ready(control_plane, share_nodes, operator, namespace)
    assert not secret_exists(control_plane, namespace, "db"), "delivery Pod writes no Secret"

    pod = _pod(control_plane, namespace, "web-0", "web", label=True)
    nodes = [n.name for n in share_nodes.nodes]
    assert pod.spec.init_containers[0].name == CONTAINER, "the webhook added the agent"
    tokens = _tokens(control_plane, pod, nodes, tmp_path / "tokens")
    out = tmp_path / "web-0"
    config = _config(pod, tokens, out)
    agent = _agent(config, "--interval", "1")
    try:
        wait_until(lambda: (out / "password").exists(), timeout=60, what="the first delivery")
        assert (out / "password").read_bytes() == VALUES[1]["password"]
        assert (out / "password").stat().st_mode & 0o777 == 0o400

        # a rotation (a new sealed version) reaches the running agent: the files swap in place
        client.CustomObjectsApi(control_plane.api_client()).patch_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            "db",
            {"spec": _sealed_spec(control_plane, share_nodes, namespace, 2)},
        )
        wait_until(
            lambda: (out / "password").read_bytes() == VALUES[2]["password"],
            timeout=90,
            what="the rotated values in the running pod",
        )
    finally:
        agent.terminate()
        log = agent.communicate(timeout=30)[0].decode()
    assert f"share node {liar.name}: sent a share of version" in log, "the lying node is named"
    for values in VALUES.values():
        assert values["password"].decode() not in log

    delivered = [e for e in _entries(share_nodes) if e.kind == EntryKind.SHARE_RELEASED and e.pod]
    assert {e.pod for e in delivered} == {f"{namespace}/web-0"}
    assert {e.pod_uid for e in delivered} == {pod.metadata.uid}
    assert {e.version for e in delivered} == {1, 2}
    status = subprocess.run(
        [sys.executable, "-m", "kuorum", "status", "db", "-n", namespace],
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": str(control_plane.kubeconfig)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert f"version 2  {namespace}/web-0 (uid {pod.metadata.uid}" in status.stdout, status
    assert not [
        e
        for e in _entries(share_nodes)
        if e.kind == EntryKind.SHARE_RELEASED and e.actor.endswith(names.OPERATOR_ACCOUNT)
    ], "the operator never collected a share"
    _etcd_holds_no_value(control_plane)


def test_a_pod_the_rule_does_not_allow_is_refused_by_every_node_and_a_replayed_token_too(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    webhook: local.LocalWebhook,
    namespace: str,
    tmp_path: Path,
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    _ready(control_plane, share_nodes, operator, namespace)
    nodes = [n.name for n in share_nodes.nodes]
    web = _pod(control_plane, namespace, "web-0", "web", label=True)
    # not labelled: the webhook never sees it, so only the nodes stand in the way
    other = _pod(control_plane, namespace, "other-0", "other", label=False)
    tokens = _tokens(control_plane, other, nodes, tmp_path / "tokens")
    out = tmp_path / "other-0"
    agent = _agent(_config(web, tokens, out), "--once")
    log = agent.communicate(timeout=60)[0].decode()
    assert agent.returncode != 0 and not (out / "password").exists()
    refusals = [
        e
        for e in _entries(share_nodes)
        if e.kind == EntryKind.SHARE_REFUSED and e.pod == f"{namespace}/other-0"
    ]
    assert len({e.reason for e in refusals}) >= 1 and len(refusals) >= len(nodes)
    assert all("other is not in spec.access.serviceAccounts" in e.reason for e in refusals)
    assert all(n in log for n in nodes), "every refusing node is named"

    # the operator's own token: every node refuses to release a delivery-Pod share to it
    for node in share_nodes.nodes:
        refused, share = release(
            node,
            public_keys(control_plane, node),
            node.operator_token,
            namespace=namespace,
            name="db",
            version=1,
        )
        assert refused.status == 403 and share is None
        assert b"delivery Pod" in refused.body

    # node-1 replays the web pod's token for node-1 to node-2: refused, it is not for node-2
    stolen = _tokens(control_plane, web, [nodes[1]], tmp_path / "stolen") / nodes[1]
    answer = share_nodes.nodes[2].request(
        "GET", f"/v1/deliveries/{namespace}/db", token=stolen.read_text()
    )
    assert answer.status == 401 and b"not meant for this node" in answer.body


def _etcd_holds_no_value(plane: ControlPlane) -> None:
    """Read every key of etcd directly (its JSON gateway, not the apiserver): no value of
    the secret is in it, neither as a Secret nor anywhere else."""
    everything = base64.b64encode(b"\0").decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{plane.ports.etcd_client}/v3/kv/range",
        data=json.dumps({"key": everything, "range_end": everything}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (loopback etcd)
        kvs = json.load(answer)["kvs"]
    stored = [base64.b64decode(kv.get("value", "")) for kv in kvs]
    assert len(stored) > 100, "the whole keyspace was read"
    for values in VALUES.values():
        assert not any(values["password"] in blob for blob in stored)
