"""Workloads consume Kuorum secrets for real: pods that run on a kubelet and read them.

Real share nodes, operator and webhook processes (listening on the node's bridge, so pods
reach them), a real kubelet running busybox and Kuorum images built here. Each pod's own
container prints SHA-256 digests of what it read; ``kubectl logs`` (the apiserver asking
the kubelet) returns them, and they are compared with the values.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from typing import Any

import pytest
from kubernetes import client
from nodes import ShareNodes, ledger_entries, share_nodes_fixture  # noqa: F401
from operators import (  # noqa: F401
    NODE_FLAGS,
    OperatorProcess,
    apply_secret,
    get_secret,
    namespace_fixture,
    operator_fixture,
    secret_data,
    wait_for,
)
from webhooks import webhook_fixture  # noqa: F401

from kuorum import names
from kuorum.devenv import webhook as local
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.ledger import Entry, EntryKind
from kuorum.webhook.agent import CONTAINER

RUN_TIMEOUT = 180.0
"""Seconds for a pod to be scheduled, started and finished (2 cores run everything)."""
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
PRINT_DIGESTS = (
    'printf "env %s\\n" "$(printf %s "$PASSWORD" | sha256sum | cut -d" " -f1)"; '
    'printf "file %s\\n" "$(sha256sum < /etc/db/password | cut -d" " -f1)"'
)
"""What each app container runs: the digests of the env var and of the file it got."""


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def generated(keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {"threshold": 2, "shares": 3, "source": {"generate": {"keys": keys}}}


def app_container(image: str, command: str) -> dict[str, Any]:
    return {
        "name": "app",
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", command],
        "securityContext": RESTRICTED,
    }


def admitted(plane: ControlPlane, namespace: str, body: dict[str, Any]) -> Any:
    """Create a pod; the webhook's cache may lag the Ready it is to see by a moment, so a
    refusal for that (503) is retried."""
    core = client.CoreV1Api(plane.api_client())
    created: list[Any] = []

    def create() -> bool:
        try:
            created.append(core.create_namespaced_pod(namespace, body))
        except client.ApiException as error:
            if error.status != 503:
                raise
            return False
        return True

    wait_until(create, timeout=30, what=f"pod {namespace}/{body['metadata']['name']} admitted")
    return created[0]


def finished_log(plane: ControlPlane, namespace: str, pod: str, container: str = "app") -> str:
    """Wait until the pod Succeeded; return its container's log (kubectl logs)."""
    core = client.CoreV1Api(plane.api_client())

    def succeeded() -> bool:
        phase = core.read_namespaced_pod(pod, namespace).status.phase
        assert phase != "Failed", plane.kubectl("describe", "pod", "-n", namespace, pod).stdout
        return bool(phase == "Succeeded")

    wait_until(succeeded, timeout=RUN_TIMEOUT, what=f"pod {namespace}/{pod} to run", interval=0.5)
    return plane.kubectl("logs", "-n", namespace, pod, "-c", container).stdout


def test_a_pod_reads_its_secret_from_env_and_file(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    webhook: local.LocalWebhook,
    namespace: str,
    busybox_image: str,
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "db", generated([{"name": "password"}]))
    wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    body = {
        "metadata": {
            "name": "app",
            "labels": {names.INJECT_LABEL: "true"},
            "annotations": {
                names.ENV_ANNOTATION: "db(password=PASSWORD)",
                names.VOLUME_ANNOTATION: "db=/etc/db",
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [app_container(busybox_image, PRINT_DIGESTS)],
        },
    }
    pod = admitted(control_plane, namespace, body)
    (variable,) = pod.spec.containers[0].env
    assert variable.value is None, "the webhook injects a reference, never the value"
    assert variable.value_from.secret_key_ref.key == "password"

    log = finished_log(control_plane, namespace, "app")

    value = secret_data(control_plane, namespace, "db")["password"]
    assert log.split() == ["env", digest(value), "file", digest(value)]


def test_rotation_rolls_an_opted_in_deployment_once_and_its_new_pods_read_new_values(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    webhook: local.LocalWebhook,
    namespace: str,
    busybox_image: str,
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "db", generated([{"name": "password"}]))
    wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    first = secret_data(control_plane, namespace, "db")["password"]
    apps = client.AppsV1Api(control_plane.api_client())
    labels = {"app": "web", names.INJECT_LABEL: "true"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {
                "name": "web",
                "annotations": {names.RESTART_ON_ROTATION_ANNOTATION: "true"},
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            names.ENV_ANNOTATION: "db(password=PASSWORD)",
                            names.VOLUME_ANNOTATION: "db=/etc/db",
                        },
                    },
                    "spec": {
                        "containers": [
                            app_container(busybox_image, PRINT_DIGESTS + "; exec sleep 3600")
                        ]
                    },
                },
            },
        },
    )
    core = client.CoreV1Api(control_plane.api_client())

    def running_pod_printing(value: bytes) -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
        for pod in pods:
            if pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
                continue
            log = control_plane.kubectl("logs", "-n", namespace, pod.metadata.name).stdout
            if log.split() == ["env", digest(value), "file", digest(value)]:
                return True
        return False

    wait_until(lambda: running_pod_printing(first), timeout=RUN_TIMEOUT, what="first pod")

    # A change of what is generated deals a new version: a rotation.
    client.CustomObjectsApi(control_plane.api_client()).patch_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        namespace,
        names.SECRET_PLURAL,
        "db",
        {"spec": {"source": {"generate": {"keys": [{"name": "password", "length": 40}]}}}},
    )

    def rotated() -> bool:
        version = (get_secret(control_plane, namespace, "db").get("status") or {}).get("version")
        return version == 2 and secret_data(control_plane, namespace, "db")["password"] != first

    wait_until(rotated, timeout=RUN_TIMEOUT, what="version 2 of db", log=operator.log)
    second = secret_data(control_plane, namespace, "db")["password"]
    wait_until(lambda: running_pod_printing(second), timeout=RUN_TIMEOUT, what="a new pod")
    replicasets = apps.list_namespaced_replica_set(namespace, label_selector="app=web").items
    assert len(replicasets) == 2, "one rollout for one rotation"


def test_a_pod_with_delivery_pod_reads_values_that_exist_only_inside_it(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    webhook: local.LocalWebhook,
    namespace: str,
    busybox_image: str,
    kuorum_image: str,
) -> None:
    """The agent sidecar (the Kuorum image) runs in the pod, with the tokens the kubelet
    projects; every node checks the pod and ledgers the release with its uid."""
    share_nodes.start(3, extra=NODE_FLAGS)
    value = b"pod-only-" + uuid.uuid4().hex.encode()
    control_plane.token(namespace, "web")  # creates the ServiceAccount
    sealed = subprocess.run(
        [
            sys.executable,
            "-m",
            "kuorum",
            "seal",
            f"--kubeconfig={control_plane.kubeconfig}",
            f"--namespace={namespace}",
            "--name=db",
            "--threshold=2",
            "--shares=3",
            "--delivery=Pod",
            f"--access-service-account={namespace}:web",
            f"--from-literal=password={value.decode()}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert value.decode() not in sealed
    control_plane.kubectl("apply", "-f", "-", input=sealed)
    wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    body = {
        "metadata": {
            "name": "web-0",
            "labels": {names.INJECT_LABEL: "true"},
            "annotations": {names.VOLUME_ANNOTATION: "db=/etc/db"},
        },
        "spec": {
            "serviceAccountName": "web",
            "restartPolicy": "Never",
            "containers": [
                app_container(busybox_image, 'sha256sum < /etc/db/password | cut -d" " -f1')
            ],
        },
    }
    pod = admitted(control_plane, namespace, body)
    assert any(c.name == CONTAINER and c.image == kuorum_image for c in pod.spec.init_containers)

    log = finished_log(control_plane, namespace, "web-0")

    assert log.split() == [digest(value)]
    releases = [
        entry
        for node in share_nodes.nodes
        for entry in map(Entry.from_bytes, ledger_entries(node))
        if entry.kind is EntryKind.SHARE_RELEASED and entry.pod_uid == pod.metadata.uid
    ]
    assert len(releases) >= 2, "at least t nodes released to this very pod"
    with pytest.raises(client.ApiException) as missing:
        client.CoreV1Api(control_plane.api_client()).read_namespaced_secret("db", namespace)
    assert missing.value.status == 404, "delivery Pod writes no Secret"
