"""Rotation by ``spec.rotation.interval`` on a real apiserver, real nodes, real operator.

Seven nodes are registered and a 3-of-5 secret is dealt to five of them. Two of its
nodes are then stopped: the rotation (the CRD's minimum interval, one minute) still
commits version 2, on the five nodes that are Ready at that moment, and retires version
1 where it can. With too few Ready nodes for a new version, the operator waits, says
why, and version 2 keeps serving.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kubernetes import client
from nodes import ShareNodes, share_nodes_fixture  # noqa: F401
from operators import (
    NODE_FLAGS,
    OperatorProcess,
    apply_secret,
    condition,
    get_secret,
    secret_data,
    wait_for,
)

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until

pytestmark = pytest.mark.integration


def test_a_rotation_commits_on_the_nodes_ready_then_and_waits_when_too_few_are(
    control_plane: ControlPlane, share_nodes: ShareNodes, tmp_path: Path
) -> None:
    nodes = {n.name: n for n in share_nodes.start(7, extra=NODE_FLAGS)}
    namespace = f"rot-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    operator = OperatorProcess(control_plane, tmp_path / "operator")
    operator.start()
    core = client.CoreV1Api(control_plane.api_client())
    apply_secret(
        control_plane,
        namespace,
        "rotating",
        {
            "threshold": 3,
            "shares": 5,
            "rotation": {"interval": "1m"},
            "source": {"generate": {"keys": [{"name": "password", "length": 40}]}},
        },
    )

    def version() -> str | None:
        try:
            secret = core.read_namespaced_secret("rotating", namespace)
        except client.ApiException:
            return None
        return (secret.metadata.annotations or {}).get(names.VERSION_ANNOTATION)

    try:
        wait_until(lambda: version() == "1", timeout=90, what="version 1", log=operator.log)
        first = secret_data(control_plane, namespace, "rotating")
        chosen = [
            n["name"] for n in get_secret(control_plane, namespace, "rotating")["status"]["nodes"]
        ]
        stopped = chosen[:2]
        for name in stopped:
            nodes[name].kill()
        wait_until(
            lambda: version() == "2",
            timeout=150,
            what="rotation to version 2 with two nodes stopped",
            interval=1,
            log=operator.log,
        )
        second = secret_data(control_plane, namespace, "rotating")
        assert first["password"] != second["password"] and len(second["password"]) == 40
        status = get_secret(control_plane, namespace, "rotating")["status"]
        assert status["version"] == 2 and "pendingVersion" not in status
        holders = sorted(n["name"] for n in status["nodes"])
        assert holders == sorted(set(nodes) - set(stopped)), "dealt to the five Ready nodes"

        def versions_on(name: str) -> list[int]:
            node = nodes[name]
            answer = node.request(
                "GET", f"/v1/shares/{namespace}/rotating", token=node.operator_token
            )
            return [item["version"] for item in answer.json()]

        wait_until(
            lambda: all(versions_on(name) == [2] for name in holders),
            timeout=30,
            what="retirement of version 1 on the live nodes",
        )

        # three more nodes stop: a new version cannot be dealt, version 2 keeps serving
        for name in holders[:3]:
            nodes[name].kill()
        client.CustomObjectsApi(control_plane.api_client()).patch_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            namespace,
            names.SECRET_PLURAL,
            "rotating",
            {"spec": {"access": {"namespaces": [namespace]}}},  # a new generation: new version
        )
        obj = wait_for(
            control_plane,
            namespace,
            "rotating",
            "Distributed",
            "False",
            reason="WaitingForNodes",
            operator=operator,
        )
        assert "5 are needed" in condition(obj, "Distributed")["message"]
        assert obj["status"]["version"] == 2
        assert secret_data(control_plane, namespace, "rotating") == second
    finally:
        operator.stop()
