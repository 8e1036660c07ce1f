"""The Helm chart installed for real on the local node, then upgraded and uninstalled.

One ordered flow, because each step needs the state the previous one left:

1. ``helm install`` the chart with the Kuorum image built here, into a namespace that
   enforces Pod Security "restricted"; share nodes as a StatefulSet on pre-created local
   PersistentVolumes, operator and webhook Deployments, the webhook reached through its
   Service over TLS, NetworkPolicies rendered; every ShareNode registers.
2. ``kuorum seal`` two secrets (delivery Secret and delivery Pod), apply, Ready.
3. A labelled pod reads the first by reference; a pod with the agent sidecar reads the
   second, which exists nowhere but inside it (the agent finds the nodes by their
   Service DNS names).
4. A share node pod is force-deleted: the StatefulSet brings it back on its volume, and a
   deleted target Secret is rebuilt.
5. ``helm test`` (``kuorum ledger verify`` in the cluster), ``helm upgrade``, ``helm
   uninstall``: nothing of the release is left but the data volumes it retains by design.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from chartkit import CHART, tool

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until

NAMESPACE = names.SYSTEM_NAMESPACE
APP = "shop"
SHARES, THRESHOLD = 3, 2
TIMEOUT = 300.0
RELEASE = "kuorum"
DATA_UID = 65532
"""The chart's non-root user: owner of the node data volumes (hostPath gets no fsGroup)."""
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": DATA_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


@pytest.fixture(scope="module")
def kubectl(control_plane: ControlPlane) -> Callable[..., str]:
    def run(*args: str, stdin: str | None = None) -> str:
        done = control_plane.kubectl(*args, check=False, input=stdin)
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    return run


def helm(plane: ControlPlane, *args: str) -> str:
    done = subprocess.run(
        [tool("helm"), f"--kubeconfig={plane.kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, f"helm {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def local_volumes(plane: ControlPlane, kubectl: Callable[..., str], count: int) -> None:
    """What a local-volume provisioner would offer: hostPath PVs with no StorageClass, so
    the StatefulSet's claims (no class, no default class here) bind to them."""
    for index in range(count):
        path = plane.state_dir / "volumes" / f"node-{index}"
        path.mkdir(parents=True)
        os.chown(path, DATA_UID, DATA_UID)
        kubectl(
            "apply",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {"name": f"local-{index}"},
                    "spec": {
                        "capacity": {"storage": "1Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": "",
                        "hostPath": {"path": str(path), "type": "Directory"},
                    },
                }
            ),
        )


def seal(plane: ControlPlane, name: str, value: str, *extra: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kuorum",
            "seal",
            f"--kubeconfig={plane.kubeconfig}",
            f"--namespace={APP}",
            f"--name={name}",
            f"--threshold={THRESHOLD}",
            f"--shares={SHARES}",
            f"--from-literal=password={value}",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert value not in done.stdout, "a sealed manifest never carries the value"
    return done.stdout


def consumer(name: str, image: str, annotations: dict[str, str], command: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": APP,
                "labels": {names.INJECT_LABEL: "true"},
                "annotations": annotations,
            },
            "spec": {
                "restartPolicy": "Never",
                "securityContext": RESTRICTED_POD,
                "containers": [
                    {
                        "name": "app",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", command],
                        "securityContext": RESTRICTED_CONTAINER,
                    }
                ],
            },
        }
    )


def wait_ready(kubectl: Callable[..., str], name: str) -> None:
    """Wait for Ready=True on DecentralizedSecret shop/``name``; on timeout show its status
    and the operator's log."""

    def ready() -> bool:
        status = json.loads(kubectl("get", "-n", APP, f"dsec/{name}", "-o", "json")).get("status")
        conditions = (status or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    try:
        wait_until(ready, timeout=TIMEOUT, what=f"dsec {APP}/{name} Ready", interval=1)
    except TimeoutError as error:
        status = kubectl("get", "-n", APP, f"dsec/{name}", "-o", "jsonpath={.status}")
        logs = kubectl("logs", "-n", NAMESPACE, "deploy/kuorum-operator", "--tail=40")
        raise AssertionError(f"{error}\nstatus: {status}\noperator:\n{logs}") from None


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def release_objects(kubectl: Callable[..., str]) -> list[str]:
    """Every object still labelled with the release, namespaced or not (PVCs excepted)."""
    kinds = kubectl("api-resources", "--verbs=list", "-o", "name").split()
    selector = f"app.kubernetes.io/instance={RELEASE}"
    left = kubectl("get", ",".join(kinds), "-A", "-l", selector, "-o", "name", "--ignore-not-found")
    return [line for line in left.split() if not line.startswith("persistentvolumeclaim/")]


def test_install_use_survive_a_lost_node_test_upgrade_and_uninstall(
    control_plane: ControlPlane,
    kubectl: Callable[..., str],
    kuorum_image: str,
    busybox_image: str,
) -> None:
    # 1. install
    kubectl(
        "label",
        "namespace",
        NAMESPACE,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    local_volumes(control_plane, kubectl, SHARES)
    repository, _, tag = kuorum_image.rpartition(":")
    sets = [
        f"image.repository={repository},image.tag={tag},image.pullPolicy=Never",
        f"node.replicas={SHARES},node.threshold={THRESHOLD}",
        "operator.extraArgs={--resync=5}",  # step 4 deletes the target Secret: back in 5 s
        "networkPolicy.enabled=true",
    ]
    helm(
        control_plane,
        "install",
        RELEASE,
        str(CHART),
        f"--namespace={NAMESPACE}",
        *(f"--set={item}" for item in sets),
        "--wait",
        "--timeout=10m",
    )

    def registered() -> bool:
        return len(json.loads(kubectl("get", "sharenodes", "-o", "json"))["items"]) == SHARES

    wait_until(registered, timeout=TIMEOUT, what=f"{SHARES} ShareNodes", interval=1)
    policies = kubectl("get", "networkpolicy", "-n", NAMESPACE, "-o", "name").split()
    assert len(policies) >= 3, policies

    # 2. two sealed secrets
    kubectl("create", "namespace", APP)
    by_secret, by_pod = uuid.uuid4().hex, uuid.uuid4().hex
    kubectl("apply", "-f", "-", stdin=seal(control_plane, "db", by_secret))
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=seal(control_plane, "vault", by_pod, "--delivery=Pod", f"--access-namespace={APP}"),
    )
    for name in ("db", "vault"):
        wait_ready(kubectl, name)

    # 3. pods read them
    digest_of_env = 'printf %s "$DB_PASSWORD" | sha256sum | cut -d" " -f1'
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=consumer(
            "by-secret",
            busybox_image,
            {names.ENV_ANNOTATION: "db(password=DB_PASSWORD)"},
            digest_of_env,
        ),
    )
    kubectl(
        "apply",
        "-f",
        "-",
        stdin=consumer(
            "by-pod",
            busybox_image,
            {names.VOLUME_ANNOTATION: "vault=/etc/vault"},
            'sha256sum < /etc/vault/password | cut -d" " -f1',
        ),
    )
    for pod, value in (("by-secret", by_secret), ("by-pod", by_pod)):
        kubectl(
            "wait",
            "-n",
            APP,
            f"pod/{pod}",
            "--for=jsonpath={.status.phase}=Succeeded",
            f"--timeout={TIMEOUT:.0f}s",
        )
        assert kubectl("logs", "-n", APP, pod, "-c", "app").split() == [sha256(value)]
    assert not kubectl("get", "secret", "-n", APP, "vault", "--ignore-not-found", "-o", "name")

    # 4. a node pod is lost (force-deleted); it comes back on its volume
    kubectl("delete", "pod", "-n", NAMESPACE, "kuorum-node-2", "--force", "--grace-period=0")
    target = json.loads(kubectl("get", "-n", APP, "dsec/db", "-o", "json"))
    kubectl("delete", "secret", "-n", APP, (target["spec"].get("target") or {}).get("name", "db"))
    kubectl("rollout", "status", "-n", NAMESPACE, "statefulset/kuorum-node", "--timeout=300s")
    wait_until(
        lambda: bool(kubectl("get", "secret", "-n", APP, "db", "--ignore-not-found", "-o", "name")),
        timeout=TIMEOUT,
        what="the operator to rebuild Secret shop/db",
        interval=1,
    )
    wait_ready(kubectl, "db")

    # 5. helm test, upgrade, uninstall
    report = helm(control_plane, "test", RELEASE, f"--namespace={NAMESPACE}", "--timeout=5m")
    assert "Phase:          Succeeded" in report and "Failed" not in report, report
    helm(
        control_plane,
        "upgrade",
        RELEASE,
        str(CHART),
        f"--namespace={NAMESPACE}",
        "--reuse-values",
        "--set=node.witnessIntervalSeconds=20",
        "--wait",
        "--timeout=10m",
    )
    wait_ready(kubectl, "db")
    helm(control_plane, "uninstall", RELEASE, f"--namespace={NAMESPACE}", "--wait", "--timeout=5m")
    wait_until(
        lambda: not release_objects(kubectl),
        timeout=120,
        what="every object of the release to be deleted",
        interval=1,
    )
    assert not kubectl("get", "pods", "-n", NAMESPACE, "-o", "name").split()
    claims = kubectl("get", "pvc", "-n", NAMESPACE, "-o", "name").split()
    assert len(claims) == SHARES, (
        "the data volumes are retained (persistentVolumeClaimRetentionPolicy)"
    )
