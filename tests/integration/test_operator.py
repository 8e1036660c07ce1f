"""The operator on a real apiserver with real share nodes and a real operator process.

Nodes beat every second and the operator counts a node down 5 s after its last beat
and reconciles every 2 s, so faults show within seconds instead of the production
defaults (15 s, 45 s, 10 s). Each test uses its own namespace.
"""

from __future__ import annotations

import base64
import string
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from kubernetes import client
from nodes import NodeProcess, ShareNodes, share_nodes_fixture  # noqa: F401
from operators import (  # noqa: F401
    NODE_FLAGS,
    TIMEOUT,
    OperatorProcess,
    apply_secret,
    condition,
    get_secret,
    grant,
    namespace_fixture,
    operator_fixture,
    secret_data,
    secret_exists,
    wait_for,
)

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.envelope import NodeKeys

pytestmark = pytest.mark.integration


GENERATED = {
    "threshold": 3,
    "shares": 5,
    "source": {
        "generate": {
            "keys": [
                {"name": "password", "length": 24, "charset": "alphanumeric"},
                {"name": "pin", "length": 6, "charset": "numeric"},
            ]
        }
    },
}


def test_generated_secret_becomes_ready_with_values_as_specified(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(5, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "db", GENERATED)
    obj = wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    data = secret_data(control_plane, namespace, "db")
    assert set(data) == {"password", "pin"}
    assert len(data["password"]) == 24 and data["password"].decode().isalnum()
    assert len(data["pin"]) == 6 and set(data["pin"].decode()) <= set(string.digits)
    status = obj["status"]
    assert status["version"] == 1 and status["sharesReachable"] == 5
    assert sorted(n["index"] for n in status["nodes"]) == [1, 2, 3, 4, 5]
    assert all(n["state"] == "Stored" and n["signingKeyFingerprint"] for n in status["nodes"])
    held = {
        node.name: node.request(
            "GET", f"/v1/shares/{namespace}/db", token=node.operator_token
        ).json()
        for node in share_nodes.nodes
    }
    assert all([item["version"] for item in items] == [1] for items in held.values())
    screen = subprocess.run(
        [
            sys.executable,
            "-m",
            "kuorum",
            "status",
            "db",
            "-n",
            namespace,
            "--kubeconfig",
            str(control_plane.kubeconfig),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert screen.returncode == 0, screen.stderr
    assert f"{namespace}/db: 3-of-5, version 1" in screen.stdout
    for value in data.values():  # the value never reaches status or the operator's log
        assert value.decode() not in str(status)
        assert value.decode() not in operator.log.read_text()


def test_secret_is_materialized_with_two_of_five_nodes_down_and_degraded_names_them(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    nodes = share_nodes.start(5, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "api", GENERATED)
    wait_for(control_plane, namespace, "api", "Ready", "True", operator=operator)
    before = secret_data(control_plane, namespace, "api")
    nodes[1].kill()
    nodes[3].kill()
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_secret("api", namespace)
    wait_until_degraded_names(control_plane, namespace, "api", [nodes[1], nodes[3]], operator)
    wait_until(
        lambda: secret_exists(control_plane, namespace, "api"),
        timeout=TIMEOUT,
        what="re-materialized Secret api",
    )
    assert secret_data(control_plane, namespace, "api") == before
    assert condition(get_secret(control_plane, namespace, "api"), "Ready")["status"] == "True"
    nodes[1].start()
    nodes[3].start()
    wait_for(control_plane, namespace, "api", "Degraded", "False", operator=operator)


def test_with_three_of_five_nodes_stopped_degraded_names_them_and_all_recovers_unaided(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    nodes = share_nodes.start(5, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "web", GENERATED)
    wait_for(control_plane, namespace, "web", "Ready", "True", operator=operator)
    before = secret_data(control_plane, namespace, "web")
    stopped = nodes[:3]
    for node in stopped:
        node.kill()
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_secret("web", namespace)
    wait_until_degraded_names(control_plane, namespace, "web", stopped, operator)
    obj = wait_for(control_plane, namespace, "web", "Ready", "False", operator=operator)
    assert obj["status"]["version"] == 1 and obj["status"]["sharesReachable"] == 2
    assert not secret_exists(control_plane, namespace, "web"), "never written from 2 of 3 shares"
    for node in stopped:  # restarted on their volumes: nothing was lost
        node.start()
    wait_for(control_plane, namespace, "web", "Ready", "True", operator=operator)
    wait_for(control_plane, namespace, "web", "Degraded", "False", operator=operator)
    assert secret_data(control_plane, namespace, "web") == before
    assert get_secret(control_plane, namespace, "web")["status"]["version"] == 1


def wait_until_degraded_names(
    plane: ControlPlane,
    namespace: str,
    name: str,
    down: Sequence[NodeProcess],
    operator: OperatorProcess,
) -> None:
    """Wait until Degraded says NodesUnreachable naming every node in ``down``."""
    names_ = [n.name for n in down]

    def named() -> bool:  # heartbeats age out one after the other
        found = condition(get_secret(plane, namespace, name), "Degraded")
        message = found.get("message", "")
        return found.get("reason") == "NodesUnreachable" and all(n in message for n in names_)

    wait_until(
        named, timeout=TIMEOUT, what=f"Degraded naming {names_}", interval=0.5, log=operator.log
    )


def test_from_secret_imports_the_values_and_deletes_the_original(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    original = {"user": b"app", "password": b"s3cret-value"}
    client.CoreV1Api(control_plane.api_client()).create_namespaced_secret(
        namespace,
        {  # handed over: only a Secret so labelled may be deleted by Kuorum
            "metadata": {"name": "legacy", "labels": {names.MANAGED_BY_LABEL: names.MANAGED_BY}},
            "data": {k: base64.b64encode(v).decode() for k, v in original.items()},
        },
    )
    apply_secret(
        control_plane,
        namespace,
        "imported",
        {
            "threshold": 2,
            "shares": 3,
            "source": {"fromSecret": {"name": "legacy", "deleteAfterImport": True}},
        },
    )
    wait_for(control_plane, namespace, "imported", "Ready", "True", operator=operator)
    assert secret_data(control_plane, namespace, "imported") == original
    wait_until(
        lambda: not secret_exists(control_plane, namespace, "legacy"),
        timeout=TIMEOUT,
        what="deletion of the imported Secret legacy",
    )


def test_missing_source_secret_is_reported_and_nothing_is_dealt(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    apply_secret(
        control_plane,
        namespace,
        "orphan",
        {
            "threshold": 2,
            "shares": 3,
            "source": {"fromSecret": {"name": "nowhere"}},
        },
    )
    obj = wait_for(
        control_plane,
        namespace,
        "orphan",
        "Distributed",
        "False",
        reason="SourceNotFound",
        operator=operator,
    )
    assert "nowhere" in condition(obj, "Distributed")["message"]
    assert "version" not in obj["status"]


def test_too_few_ready_nodes_waits_and_says_why(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(2, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "big", GENERATED)
    obj = wait_for(
        control_plane,
        namespace,
        "big",
        "Distributed",
        "False",
        reason="WaitingForNodes",
        operator=operator,
    )
    assert "5 are needed" in condition(obj, "Distributed")["message"]
    share_nodes.start(3, extra=NODE_FLAGS)
    wait_for(control_plane, namespace, "big", "Ready", "True", operator=operator)


def test_deletion_destroys_every_share_on_the_nodes(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "gone", {**GENERATED, "threshold": 2, "shares": 3})
    wait_for(control_plane, namespace, "gone", "Ready", "True", operator=operator)
    _delete_and_wait(control_plane, namespace, "gone", operator)
    for node in share_nodes.nodes:
        answer = node.request("GET", f"/v1/shares/{namespace}/gone", token=node.operator_token)
        assert answer.json() == []


def _delete_and_wait(
    plane: ControlPlane, namespace: str, name: str, operator: OperatorProcess
) -> None:
    """Delete the DecentralizedSecret and wait until its finalizer has let it go."""
    client.CustomObjectsApi(plane.api_client()).delete_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name
    )

    def gone() -> bool:
        try:
            get_secret(plane, namespace, name)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait_until(
        gone, timeout=TIMEOUT, what=f"finalized DecentralizedSecret {name}", log=operator.log
    )


def test_a_foreign_secret_named_as_the_target_is_never_touched(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    """A tenant names someone else's Secret, here and in another namespace: both stay
    byte-for-byte as they were, Ready says why, and deleting the DecentralizedSecret
    deletes nothing it did not create."""
    share_nodes.start(3, extra=NODE_FLAGS)
    core = client.CoreV1Api(control_plane.api_client())
    other = f"{namespace}-argocd"
    control_plane.create_namespace(other)
    foreign = {"metadata": {"name": "argocd-secret"}, "data": {"admin.password": "aGFzaA=="}}
    before = {ns: core.create_namespaced_secret(ns, foreign) for ns in (namespace, other)}
    grant(control_plane, other, {"namespace": namespace})  # even where delivery is allowed
    spec = {
        **GENERATED,
        "threshold": 2,
        "shares": 3,
        "target": {"name": "argocd-secret"},
        "access": {"namespaces": [other]},
    }
    apply_secret(control_plane, namespace, "takeover", spec)
    obj = wait_for(
        control_plane,
        namespace,
        "takeover",
        "Ready",
        "False",
        reason="TargetConflict",
        operator=operator,
    )
    assert f"{namespace}/argocd-secret" in condition(obj, "Ready")["message"]
    _delete_and_wait(control_plane, namespace, "takeover", operator)
    for ns, created in before.items():
        after = core.read_namespaced_secret("argocd-secret", ns)
        assert after.data == created.data, ns
        assert after.metadata.resource_version == created.metadata.resource_version, ns


def test_a_sharenode_recreated_with_other_keys_is_never_dealt_to(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    """Someone who may delete and create ShareNodes replaces one with keys of their own:
    the operator pinned the node's keys when it first admitted it, so the impostor gets
    no share, and a secret that needs it waits (a condition says so)."""
    nodes = share_nodes.start(3, extra=NODE_FLAGS)
    apply_secret(control_plane, namespace, "first", {**GENERATED, "threshold": 2, "shares": 3})
    wait_for(control_plane, namespace, "first", "Ready", "True", operator=operator)
    custom = client.CustomObjectsApi(control_plane.api_client())
    group = (names.GROUP, names.VERSION, names.NODE_PLURAL)
    victim = nodes[1]
    original = custom.get_cluster_custom_object(*group, victim.name)
    victim.stop()
    custom.delete_cluster_custom_object(*group, victim.name)
    impostor_keys = NodeKeys.generate(kem="X25519").public().to_dict()
    impostor = {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": victim.name, "labels": original["metadata"].get("labels", {})},
        "spec": {**original["spec"], **impostor_keys},
    }
    custom.create_cluster_custom_object(*group, impostor)
    done = threading.Event()

    def beat() -> None:  # the impostor looks alive and Ready throughout
        while not done.is_set():
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            status = {**original["status"], "lastHeartbeatTime": now}
            custom.patch_cluster_custom_object_status(*group, victim.name, {"status": status})
            done.wait(1)

    beating = threading.Thread(target=beat, daemon=True)
    beating.start()
    try:
        apply_secret(control_plane, namespace, "second", {**GENERATED, "threshold": 2, "shares": 3})
        obj = wait_for(
            control_plane,
            namespace,
            "second",
            "Distributed",
            "False",
            reason="WaitingForNodes",
            operator=operator,
        )
    finally:
        done.set()
        beating.join()
    assert "only 2 usable ShareNodes" in condition(obj, "Distributed")["message"]
    assert "pinned when it was first admitted" in operator.log.read_text()
