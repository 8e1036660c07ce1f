"""Fixtures shared by every test tier.

``control_plane`` is a real etcd + kube-apiserver + kube-controller-manager, started
once per test session as local processes (envtest-style), with Kuorum's CRDs installed
and the ``kuorum-system`` namespace created. Its processes die with the test run, also
when the run is interrupted or killed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A running local control plane with the CRDs installed."""
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), tie_to_parent=True)
    plane.start()
    try:
        api = plane.api_client()
        install.apply_crds(api, install.crd_manifests())
        install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
        yield plane
    finally:
        plane.stop()
