"""Gate and fixtures of the real-node suite: pods that actually run.

Each module gets its own control plane with a real node (kubelet, containerd, runc,
kube-proxy, kube-scheduler, CoreDNS; :mod:`kuorum.devenv.node`), listening on the node's
bridge so pods reach the apiserver and the share nodes; ``control_plane`` is overridden
here with module scope, so the integration fixtures (``share_nodes``, ``operator``,
``webhook``) run on it unchanged. One machine runs one node at a time, and modules run
one after another, so each module's node is gone before the next one starts.

The suite runs where :func:`kuorum.devenv.node.unavailable` finds nothing missing (root,
runc, CNI plugins, iptables; CI's machine has them); elsewhere every test is skipped
with that reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from kuorum import names
from kuorum.devenv import hostnet, images, install
from kuorum.devenv import node as local_node
from kuorum.devenv.binaries import ensure_node_assets
from kuorum.devenv.controlplane import ControlPlane


@functools.cache
def missing() -> str | None:
    """Why no real node can run here (None: it can)."""
    reason = local_node.unavailable()
    return f"no local kubelet node: {reason}" if reason else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.node)
            reason = missing()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@functools.cache
def node_images() -> tuple[images.Image, images.Image, images.Image]:
    """pause, busybox and kuorum, built once per machine (cached by content)."""
    pause, busybox, kuorum = images.build_all()
    return pause, busybox, kuorum


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane on the node's bridge with a Ready real node, the CRDs and the
    kuorum-system namespace; the node's host changes are undone afterwards."""
    pause, busybox, kuorum = node_images()
    assets = ensure_node_assets()
    plane = ControlPlane(tmp_path_factory.mktemp("node-plane"), tie_to_parent=True)
    node = local_node.LocalNode(plane)
    node.prepare_host()
    try:
        plane.start(address=hostnet.NODE_IP)
        node.start(pause, [busybox, kuorum], assets=assets)
        api = plane.api_client()
        install.apply_crds(api, install.crd_manifests())
        install.ensure_namespace(api, names.SYSTEM_NAMESPACE)
        yield plane
    finally:
        node.stop()
        plane.stop()


@pytest.fixture(scope="module")
def busybox_image() -> str:
    """The reference of the busybox image the node has (pods use imagePullPolicy Never)."""
    return node_images()[1].reference


@pytest.fixture(scope="module")
def kuorum_image() -> str:
    """The reference of the Kuorum image built here and imported into the node."""
    return node_images()[2].reference
