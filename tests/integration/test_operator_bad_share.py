"""A lying node: the secret stays Ready with the right value and the liar is named.

One of five nodes runs with ``--unsafe-corrupt-releases``: its released shares are
correctly sealed and signed, but fail verification against the commitments. The first
t valid shares win, so the liar is seen only when it answers among the early ones: the
test forces collections (by deleting the target Secret) until it has been caught.
"""

from __future__ import annotations

import base64
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from nodes import ShareNodes, share_nodes_fixture  # noqa: F401
from operators import NODE_FLAGS, OperatorProcess, apply_secret, get_secret

from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until

pytestmark = pytest.mark.integration
ATTEMPTS = 20


def test_a_node_returning_bad_shares_is_named_and_the_secret_stays_right(
    control_plane: ControlPlane, share_nodes: ShareNodes, tmp_path: Path
) -> None:
    honest = share_nodes.start(4, extra=NODE_FLAGS)
    (liar,) = share_nodes.start(1, extra=[*NODE_FLAGS, "--unsafe-corrupt-releases"])
    namespace = f"liar-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    operator = OperatorProcess(control_plane, tmp_path / "operator", interval=1)
    operator.start()
    core = client.CoreV1Api(control_plane.api_client())
    apply_secret(
        control_plane,
        namespace,
        "db",
        {
            "threshold": 3,
            "shares": 5,
            "source": {"generate": {"keys": [{"name": "password"}]}},
        },
    )

    def materialized() -> dict[str, bytes] | None:
        try:
            secret = core.read_namespaced_secret("db", namespace)
        except client.ApiException:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def status() -> dict[str, Any]:
        return dict(get_secret(control_plane, namespace, "db").get("status") or {})

    try:
        wait_until(
            lambda: materialized() is not None,
            timeout=90,
            what="Secret db",
            log=operator.log,
        )
        value = materialized()
        for _ in range(ATTEMPTS):
            if any(b["node"] == liar.name for b in status().get("badShares") or []):
                break
            core.delete_namespaced_secret("db", namespace)
            wait_until(lambda: materialized() is not None, timeout=60, what="re-materialized db")
        current = status()
        assert [b["node"] for b in current["badShares"]] == [liar.name]
        assert materialized() == value  # never the liar's value
        states = {n["name"]: n["state"] for n in current["nodes"]}
        assert states[liar.name] == "BadShare"
        assert {states[n.name] for n in honest} == {"Stored"}
        ready = next(c for c in current["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        events = core.list_namespaced_event(
            namespace, field_selector="involvedObject.name=db,reason=BadShare"
        ).items
        assert events and all(liar.name in e.message for e in events)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{operator.port}/metrics", timeout=5
        ) as answer:
            metrics = answer.read().decode()
        assert f'kuorum_operator_bad_shares_total{{node="{liar.name}"}}' in metrics
        assert not any(
            f'node="{n.name}"' in line
            for n in honest
            for line in metrics.splitlines()
            if line.startswith("kuorum_operator_bad")
        )
    finally:
        operator.stop()
