"""Every object the chart renders is accepted by a real apiserver (server-side dry run).

The local control plane has Kuorum's CRDs; cert-manager's Certificate/Issuer and
prometheus-operator's ServiceMonitor CRDs are installed from the schemas vendored in
tests/fixtures/thirdparty-crds/, so the optional objects are checked against their real
schemas too. The objects go into a namespace that enforces the Pod Security Standard
"restricted", and any PodSecurity warning fails the test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import FULL_VALUES, REPOSITORY, render_text

from kuorum.devenv import install

pytestmark = pytest.mark.integration

THIRD_PARTY_CRDS = REPOSITORY / "tests" / "fixtures" / "thirdparty-crds"
NAMESPACE = "kuorum-chart-dry-run"
RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
}
VALUES: dict[str, tuple[Path, ...]] = {"default": (), "full": (FULL_VALUES,)}


@pytest.fixture(scope="module")
def cluster(control_plane: Any) -> Any:
    manifests = [yaml.safe_load(p.read_text()) for p in sorted(THIRD_PARTY_CRDS.glob("*.yaml"))]
    install.apply_crds(control_plane.api_client(), manifests)
    control_plane.create_namespace(NAMESPACE, labels=RESTRICTED)
    return control_plane


def dry_run_apply(cluster: Any, path: Path) -> Any:
    """Would the apiserver accept these objects? Field ownership is not the question:
    other tests may already have made the same cluster-scoped RBAC objects for real."""
    return cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--force-conflicts",
        "--field-manager=kuorum-chart-test",
        "-f",
        str(path),
        check=False,
    )


@pytest.mark.parametrize("values", sorted(VALUES))
def test_every_rendered_object_is_accepted(cluster: Any, values: str, tmp_path: Path) -> None:
    text = render_text(VALUES[values], namespace=NAMESPACE, include_crds=True)
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    # Pods are admitted only with an existing ServiceAccount, which a dry run does not
    # create: create the (namespaced, harmless) ServiceAccounts for real, first.
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(yaml.safe_dump_all([o for o in objects if o["kind"] == "ServiceAccount"]))
    created = cluster.kubectl("apply", "--server-side", "-f", str(accounts), check=False)
    assert created.returncode == 0, created.stderr
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(text)
    done = dry_run_apply(cluster, manifest)
    assert done.returncode == 0, done.stderr
    assert "PodSecurity" not in done.stderr, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    applied = [line for line in done.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), done.stdout
    kinds = {o["kind"] for o in objects}
    if values == "full":
        assert {"Certificate", "Issuer", "ServiceMonitor", "NetworkPolicy"} <= kinds


def test_the_pod_security_check_would_see_a_weak_pod(cluster: Any, tmp_path: Path) -> None:
    """Guards the test above: a pod template without hardening is warned about."""
    manifest = tmp_path / "weak.yaml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: weak, namespace: {NAMESPACE}}}
            spec:
              selector: {{matchLabels: {{app: weak}}}}
              template:
                metadata: {{labels: {{app: weak}}}}
                spec:
                  containers: [{{name: c, image: busybox}}]
            """
        )
    )
    done = dry_run_apply(cluster, manifest)
    assert done.returncode == 0, done.stderr
    assert "would violate PodSecurity" in done.stderr


def test_a_broken_certificate_is_refused(cluster: Any, tmp_path: Path) -> None:
    """Guards the vendored schemas: the apiserver validates cert-manager objects with them."""
    manifest = tmp_path / "bad-certificate.yaml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            apiVersion: cert-manager.io/v1
            kind: Certificate
            metadata: {{name: bad, namespace: {NAMESPACE}}}
            spec: {{dnsNames: [a.example], issuerRef: {{name: x}}}}
            """
        )
    )
    done = dry_run_apply(cluster, manifest)
    assert done.returncode != 0
    assert "secretName" in done.stderr
