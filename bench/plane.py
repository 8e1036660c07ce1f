"""What the benchmarks on a local control plane share: the plane, and what they put in it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane


@contextmanager
def local_control_plane() -> Iterator[tuple[ControlPlane, Path]]:
    """etcd, kube-apiserver and kube-controller-manager in a scratch directory (and the
    directory, for the benchmark's own files), stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kuorum-bench-") as directory:
        plane = ControlPlane(Path(directory), tie_to_parent=True)
        plane.start()
        try:
            yield plane, Path(directory)
        finally:
            plane.stop()


def prepare(plane: ControlPlane, namespace: str) -> client.ApiClient:
    """The CRDs, Kuorum's namespace and the benchmark's ``namespace``."""
    api = plane.api_client()
    install.apply_crds(api, install.crd_manifests())
    install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
    plane.create_namespace(namespace)
    return api


def decentralized_secret(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A DecentralizedSecret manifest."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"name": name},
        "spec": spec,
    }
