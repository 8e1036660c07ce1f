"""Offline schema checks with kubeconform: no apiserver needed.

kubeconform (built by hack/tools.sh) validates against JSON schemas made here from CRDs:
the vendored cert-manager and prometheus-operator ones (the chart's optional objects)
and Kuorum's own from crds/ (the Argo CD health-check fixtures must be real objects).
Unknown fields are refused, as the apiserver's strict field validation does. The
apiserver dry run in tests/integration/test_chart_apply.py checks everything else.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartkit import FULL_VALUES, REPOSITORY, render_text, tool

THIRD_PARTY = REPOSITORY / "tests" / "fixtures" / "thirdparty-crds"
OWN = REPOSITORY / "crds"
TESTDATA = REPOSITORY / "gitops" / "argocd" / "kuorum.io" / "DecentralizedSecret" / "testdata"
LOCATION = "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def json_schema(node: Any) -> Any:
    """OpenAPI v3 (structural CRD schema) to JSON schema, closed like the apiserver."""
    if isinstance(node, list):
        return [json_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    for key in [k for k in out if k.startswith("x-kubernetes-")]:
        out.pop(key)
    if "properties" in out and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def write_schemas(crd_files: list[Path], directory: Path) -> set[str]:
    kinds = set()
    for path in crd_files:
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = json_schema(version["schema"]["openAPIV3Schema"])
            (directory / f"{kind.lower()}_{version['name']}.json").write_text(json.dumps(schema))
        kinds.add(kind)
    return kinds


def kubeconform(schemas: Path, manifest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("kubeconform"),
            "-strict",
            "-summary",
            "-output",
            "json",
            "-schema-location",
            str(schemas / LOCATION),
            *extra,
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("schemas")
    write_schemas(sorted(THIRD_PARTY.glob("*.yaml")) + sorted(OWN.glob("*.yaml")), directory)
    return directory


def test_optional_chart_objects_match_their_crds(schemas: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "full.yaml"
    manifest.write_text(render_text([FULL_VALUES]))
    kinds = {"Certificate", "Issuer", "ServiceMonitor"}
    expected = sum(
        1 for doc in yaml.safe_load_all(manifest.read_text()) if doc and doc["kind"] in kinds
    )
    done = kubeconform(schemas, manifest, "-ignore-missing-schemas")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["valid"] == expected == 5
    assert summary["invalid"] == summary["errors"] == 0


def test_an_unknown_field_is_refused(schemas: Path, tmp_path: Path) -> None:
    """Guards the conversion: the schemas are closed, as the apiserver's validation is."""
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: x, namespace: y}\n"
        "spec: {secretName: s, issuerRef: {name: i}, dnsNames: [a], bogusField: 1}\n"
    )
    done = kubeconform(schemas, manifest)
    assert done.returncode != 0
    assert "bogusField" in done.stdout


def test_argocd_health_fixtures_are_real_decentralized_secrets(schemas: Path) -> None:
    assert (schemas / "decentralizedsecret_v1alpha1.json").exists(), "no schema from crds/"
    for fixture in sorted(TESTDATA.glob("*.yaml")):
        done = kubeconform(schemas, fixture)
        assert done.returncode == 0, f"{fixture.name}: {done.stdout}"
