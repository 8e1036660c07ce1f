"""End to end on kind: install the chart, seal, apply, Ready, inject, lose a node, verify.

Opt-in (see conftest.py): needs a Docker engine and a kindest/node image. One ordered
flow, because each step needs the state the previous one left:

1. ``helm install`` the chart (image built from the Dockerfile) into a namespace that
   enforces the Pod Security Standard "restricted"; every ShareNode registers.
2. ``kuorum seal`` a secret (shares encrypted to the registered node keys), apply it,
   wait for Ready.
3. A pod labelled ``kuorum.io/inject=true`` gets the secret by reference (secretKeyRef),
   never by value, and reads the right value.
4. A share node is killed and its PersistentVolumeClaim kept; the target Secret is
   deleted: the operator rebuilds it from the remaining t nodes, Ready stays True.
5. ``helm test``: the chart's hook runs ``kuorum ledger verify`` inside the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chartkit import CHART, tool

pytestmark = pytest.mark.kind

NAMESPACE = "kuorum-system"
APP = "shop"
SHARES, THRESHOLD = 3, 2
VALUE = "correct horse battery staple"


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def run(*argv: str, kubeconfig: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        timeout=600,
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_install_seal_inject_survive_a_lost_node_and_verify(
    kind: Any, kuorum_image: str, tmp_path: Path
) -> None:
    kubeconfig = Path(kind.kubeconfig_path)

    def kubectl(*args: str, stdin: str | None = None) -> str:
        return run(str(kind.kubectl_path), *args, kubeconfig=kubeconfig, stdin=stdin)

    def jsonpath(*args: str) -> str:
        return kubectl("get", *args, "-o", "json")

    # 1. install
    kubectl("create", "namespace", NAMESPACE)
    kubectl(
        "label",
        "namespace",
        NAMESPACE,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    repository, _, tag = kuorum_image.partition(":")
    # kind's CNI (kindnet) enforces NetworkPolicies: run with them.
    values = tmp_path / "values.yaml"
    values.write_text("networkPolicy:\n  enabled: true\n")
    run(
        tool("helm"),
        "install",
        "kuorum",
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--set",
        f"image.repository={repository},image.tag={tag},image.pullPolicy=Never",
        "--set",
        f"node.replicas={SHARES},node.threshold={THRESHOLD}",
        "--values",
        str(values),
        "--wait",
        "--timeout",
        "10m",
        kubeconfig=kubeconfig,
    )

    def nodes_registered() -> bool:
        items = json.loads(jsonpath("sharenodes"))["items"]
        return len(items) == SHARES

    wait_for(nodes_registered, timeout=180, what=f"{SHARES} ShareNodes")

    # 2. seal and apply
    kubectl("create", "namespace", APP)
    manifest = run(
        sys.executable,
        "-m",
        "kuorum",
        "seal",
        "--namespace",
        APP,
        "--name",
        "db",
        "--threshold",
        str(THRESHOLD),
        "--shares",
        str(SHARES),
        "--from-literal",
        f"password={VALUE}",
        "--access-namespace",
        APP,
        kubeconfig=kubeconfig,
    )
    assert VALUE not in manifest, "a sealed manifest never carries the value"
    kubectl("apply", "-f", "-", stdin=manifest)
    kubectl("wait", "-n", APP, "dsec/db", "--for=condition=Ready", "--timeout=300s")

    # 3. a labelled pod gets the secret by reference
    pod = textwrap.dedent(
        f"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: consumer
          namespace: {APP}
          labels: {{kuorum.io/inject: "true"}}
          annotations: {{kuorum.io/env: "db(password=DB_PASSWORD)"}}
        spec:
          restartPolicy: Never
          securityContext:
            runAsNonRoot: true
            runAsUser: 65532
            seccompProfile: {{type: RuntimeDefault}}
          containers:
            - name: app
              image: {kuorum_image}
              imagePullPolicy: Never
              command: [python, -c, "import os; print(os.environ['DB_PASSWORD'])"]
              securityContext:
                allowPrivilegeEscalation: false
                capabilities: {{drop: [ALL]}}
        """
    )
    kubectl("apply", "-f", "-", stdin=pod)
    spec = json.loads(jsonpath("-n", APP, "pod/consumer"))["spec"]
    (variable,) = [e for e in spec["containers"][0]["env"] if e["name"] == "DB_PASSWORD"]
    assert "value" not in variable, "the webhook injects a reference, never the value"
    assert variable["valueFrom"]["secretKeyRef"]["key"] == "password"
    kubectl(
        "wait",
        "-n",
        APP,
        "pod/consumer",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=180s",
    )
    assert kubectl("logs", "-n", APP, "pod/consumer").strip() == VALUE

    # 4. lose a node (n - t = 1 may go): the secret is rebuilt from the other t
    kubectl("scale", "-n", NAMESPACE, "statefulset/kuorum-node", f"--replicas={SHARES - 1}")
    kubectl("wait", "-n", NAMESPACE, f"pod/kuorum-node-{SHARES - 1}", "--for=delete")
    target = secret_name(json.loads(jsonpath("-n", APP, "dsec/db")))
    kubectl("delete", "-n", APP, "secret", target)
    wait_for(
        lambda: bool(
            kubectl(
                "get",
                "-n",
                APP,
                "secret",
                "--field-selector",
                f"metadata.name={target}",
                "-o",
                "name",
            ).strip()
        ),
        timeout=180,
        what=f"the operator to rebuild Secret {APP}/{target} from {THRESHOLD} nodes",
    )
    ready = json.loads(jsonpath("-n", APP, "dsec/db"))["status"]["conditions"]
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in ready)
    kubectl("scale", "-n", NAMESPACE, "statefulset/kuorum-node", f"--replicas={SHARES}")
    kubectl("rollout", "status", "-n", NAMESPACE, "statefulset/kuorum-node", "--timeout=300s")

    # 5. `helm test`: kuorum ledger verify inside the cluster (node names resolve there,
    # the node NetworkPolicy admits the chart's auditor pod)
    report = run(
        tool("helm"),
        "test",
        "kuorum",
        "--namespace",
        NAMESPACE,
        "--logs",
        "--timeout",
        "5m",
        kubeconfig=kubeconfig,
    )
    assert "FAILED" not in report, report


def secret_name(secret: dict[str, Any]) -> str:
    target = secret["spec"].get("target") or {}
    return str(target.get("name") or secret["metadata"]["name"])
