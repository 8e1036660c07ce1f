"""Render the Helm chart for tests: helm from hack/tools.sh (built once, cached), parsed objects.

Shared by tests/unit/test_chart_*.py and tests/integration/test_chart_*.py (``tests/`` is
on ``sys.path`` through its conftest).
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
CHART = REPOSITORY / "charts" / "kuorum"
FULL_VALUES = CHART / "ci" / "full-values.yaml"
TOOLS = REPOSITORY / "hack" / "tools.sh"
RELEASE = "kuorum"
NAMESPACE = "kuorum-system"
KUBE_VERSION = "1.36.0"


@functools.cache
def tool(name: str) -> str:
    """Path of helm or kubeconform: $HELM/$KUBECONFORM, the cache, or a build into it."""
    done = subprocess.run(
        [str(TOOLS), name], capture_output=True, text=True, check=False, timeout=1200
    )
    if done.returncode != 0:
        raise RuntimeError(f"hack/tools.sh {name} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run helm with ``args``; raise with its stderr when it fails and ``check`` is set."""
    done = subprocess.run(
        [tool("helm"), *args], capture_output=True, text=True, check=False, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{done.stderr}")
    return done


def template_args(
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    *,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", namespace]
    args += ["--kube-version", KUBE_VERSION]
    for path in values:
        args += ["--values", str(path)]
    for item in sets:
        args += ["--set", item]
    if include_crds:
        args.append("--include-crds")
    return args


def render_text(
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    *,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> str:
    """The chart rendered as one multi-document YAML text."""
    args = template_args(values, sets, namespace=namespace, include_crds=include_crds)
    return helm(*args).stdout


def render(
    values: Iterable[Path] = (),
    sets: Iterable[str] = (),
    *,
    namespace: str = NAMESPACE,
    include_crds: bool = False,
) -> list[dict[str, Any]]:
    """The chart rendered and parsed: one dict per object."""
    text = render_text(values, sets, namespace=namespace, include_crds=include_crds)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``."""
    hits = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected one {kind} {name}, found {len(hits)}"
    return hits[0]


WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def is_helm_test(obj: dict[str, Any]) -> bool:
    """True for objects that exist only while `helm test` runs."""
    return (obj["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"


def pod_specs(
    objects: list[dict[str, Any]], *, helm_tests: bool = False
) -> dict[str, dict[str, Any]]:
    """Pod specs of every workload (and of bare Pods when ``helm_tests``), by ``Kind/name``."""
    specs = {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in WORKLOAD_KINDS
    }
    if helm_tests:
        specs.update(
            {f"Pod/{o['metadata']['name']}": o["spec"] for o in objects if o["kind"] == "Pod"}
        )
    return specs
