"""Vendor the third-party CRDs the chart tests need into tests/fixtures/thirdparty-crds/.

The CRDs ship inside the projects' Go modules, so `go mod download` (the Go module proxy,
checksummed by sum.golang.org) fetches them; string descriptions are stripped to keep
the fixtures small.

    python hack/vendor_crds.py
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "thirdparty-crds"
SOURCES = {
    "github.com/cert-manager/cert-manager@v1.21.2": [
        "deploy/crds/cert-manager.io_certificates.yaml",
        "deploy/crds/cert-manager.io_issuers.yaml",
    ],
    "github.com/prometheus-operator/prometheus-operator@v0.85.0": [
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
    ],
}


def strip_descriptions(node: Any) -> Any:
    """Drop string ``description`` fields (a property *named* description is a map: kept)."""
    if isinstance(node, dict):
        return {
            key: strip_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(value) for value in node]
    return node


def module_directory(module: str) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            ["go", "mod", "download", "-json", module],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"},
        )
    return Path(json.loads(done.stdout)["Dir"])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for module, paths in SOURCES.items():
        root = module_directory(module)
        for relative in paths:
            (document,) = [d for d in yaml.safe_load_all((root / relative).read_text()) if d]
            text = yaml.safe_dump(strip_descriptions(document), sort_keys=False, width=1000)
            (OUT / Path(relative).name).write_text(text)
            print(f"{module} {relative} -> {OUT / Path(relative).name}")


if __name__ == "__main__":
    main()
