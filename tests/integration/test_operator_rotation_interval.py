"""Rotation by ``spec.rotation.interval`` on a real apiserver, real nodes, real operator.

The CRD's minimum interval is one minute, so this test waits one rotation: version 2
is committed on every chosen node, the target Secret follows with new values, and the
shares of version 1 are gone from the nodes.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from kubernetes import client
from nodes import ShareNodes, share_nodes_fixture  # noqa: F401
from operators import NODE_FLAGS, OperatorProcess, apply_secret, get_secret

from kuorum import names
from kuorum.cluster.controlplane import ControlPlane
from kuorum.cluster.processes import wait_until

pytestmark = pytest.mark.integration


def test_a_rotation_commits_a_new_version_everywhere_and_retires_the_old_one(
    control_plane: ControlPlane, share_nodes: ShareNodes, tmp_path: Path
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
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
            "threshold": 2,
            "shares": 3,
            "rotation": {"interval": "1m"},
            "source": {"generate": {"keys": [{"name": "password", "length": 40}]}},
        },
    )

    def secret_at(version: int) -> dict[str, bytes] | None:
        try:
            secret = core.read_namespaced_secret("rotating", namespace)
        except client.ApiException:
            return None
        if (secret.metadata.annotations or {}).get(names.VERSION_ANNOTATION) != str(version):
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    try:
        wait_until(
            lambda: secret_at(1) is not None,
            timeout=90,
            what="version 1",
            log=operator.log,
        )
        first = secret_at(1)
        wait_until(
            lambda: secret_at(2) is not None,
            timeout=150,
            what="rotation to version 2",
            interval=1,
            log=operator.log,
        )
        second = secret_at(2)
        assert first and second and first["password"] != second["password"]
        assert len(second["password"]) == 40
        obj = get_secret(control_plane, namespace, "rotating")
        assert obj["status"]["version"] == 2 and "pendingVersion" not in obj["status"]
        token = share_nodes.operator_token()

        def only_version_two_left() -> bool:
            held = [
                [
                    item["version"]
                    for item in node.request(
                        "GET", f"/v1/shares/{namespace}/rotating", token=token
                    ).json()
                ]
                for node in share_nodes.nodes
            ]
            return held == [[2], [2], [2]]

        wait_until(only_version_two_left, timeout=30, what="retirement of version 1")
    finally:
        operator.stop()
