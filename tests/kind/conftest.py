"""Gate and fixtures of the opt-in kind suite (pytest-kind).

Every test here is marked ``kind``. They run where a Docker engine answers and a
kindest/node image is present locally (pulling one is left to the person who opts in);
elsewhere each test is skipped with the exact thing that is missing. Run it with:

    docker pull kindest/node:v1.37.0      # once; or set KUORUM_KIND_IMAGE
    .venv/bin/pytest -m kind tests/kind

kind comes from hack/tools.sh (built once from the Go module proxy), helm too; the
kuorum image is built from the repository's Dockerfile and loaded into the cluster.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from chartkit import REPOSITORY, tool

NODE_IMAGE = os.environ.get(
    "KUORUM_KIND_IMAGE",
    # kind v0.33.0's default node image (sigs.k8s.io/kind pkg/apis/config/defaults).
    "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
)
KUORUM_IMAGE = "kuorum:e2e"
CLUSTER_NAME = "kuorum-e2e"


@functools.cache
def missing() -> str | None:
    """Why the kind suite cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "no Docker engine for the kind suite (no docker command)"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "no Docker engine for the kind suite (docker info failed)"
    image = subprocess.run(
        ["docker", "image", "inspect", NODE_IMAGE], capture_output=True, check=False
    )
    if image.returncode != 0:
        return f"no kindest/node image for the kind suite: docker pull {NODE_IMAGE.split('@')[0]}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kind)
            reason = missing()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def kuorum_image() -> str:
    """The kuorum image, built from the repository's Dockerfile."""
    subprocess.run(["docker", "build", "-t", KUORUM_IMAGE, str(REPOSITORY)], check=True)
    return KUORUM_IMAGE


@pytest.fixture(scope="session")
def kind(kuorum_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A kind cluster (three workers, so share nodes spread) with the kuorum image loaded."""
    from pytest_kind import KindCluster

    config = tmp_path_factory.mktemp("kind") / "cluster.yaml"
    config.write_text(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
        "nodes:\n  - role: control-plane\n  - role: worker\n  - role: worker\n  - role: worker\n"
    )
    kubectl = shutil.which("kubectl")
    cluster = KindCluster(
        CLUSTER_NAME,
        image=NODE_IMAGE,
        kind_path=Path(tool("kind")),
        kubectl_path=Path(kubectl) if kubectl else None,
    )
    cluster.create(config_file=config)
    try:
        cluster.load_docker_image(kuorum_image)
        yield cluster
    finally:
        if not os.environ.get("KUORUM_KEEP_KIND"):
            cluster.delete()
