"""A real ``kuorum operator`` process and DecentralizedSecrets, for integration tests.

Production defaults (reconcile every 10 s, a node is down 45 s after its last beat)
are shortened so faults show within seconds; nodes in these tests beat every second.
"""

from __future__ import annotations

import base64
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import Supervisor, free_port, wait_until

TIMEOUT = 90.0
"""Seconds a condition may take to show (generous: 2 cores run everything)."""

NODE_FLAGS = ["--heartbeat-interval", "1"]
"""Flags for ``share_nodes.start`` so nodes beat often enough for the grace below."""


class OperatorProcess:
    """One operator process as the kuorum-operator ServiceAccount; kill and start it."""

    def __init__(self, plane: ControlPlane, directory: Path, *, interval: float = 2) -> None:
        install.grant_component(plane.api_client(), "operator")
        kubeconfig = plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.OPERATOR_ACCOUNT)
        self.port = free_port()
        self.argv = [
            sys.executable,
            "-m",
            "kuorum",
            "operator",
            "--kubeconfig",
            str(kubeconfig),
            "--interval",
            str(interval),
            "--resync",  # tests delete target Secrets and wait for them to come back
            str(interval),
            "--heartbeat-grace",
            "5",
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        self.supervisor = Supervisor(directory, tie_to_parent=True)

    @property
    def log(self) -> Path:
        return self.supervisor.log_path("operator")

    def start(self) -> None:
        self.supervisor.start("operator", self.argv)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill."""
        self.supervisor.stop("operator", kill=True)

    def stop(self) -> None:
        self.supervisor.stop_all(timeout=10)


@pytest.fixture(name="operator")
def operator_fixture(control_plane: ControlPlane, tmp_path: Path) -> Iterator[OperatorProcess]:
    """A running operator (reconciling every 2 s), stopped after the test.

    Use it with ``from operators import operator_fixture  # noqa: F401``.
    """
    process = OperatorProcess(control_plane, tmp_path / "operator")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(name="namespace")
def namespace_fixture(control_plane: ControlPlane) -> str:
    """A fresh namespace for one test (``from operators import namespace_fixture``)."""
    name = f"op-{uuid.uuid4().hex[:8]}"
    control_plane.create_namespace(name)
    return name


def apply_secret(plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Create a DecentralizedSecret."""
    client.CustomObjectsApi(plane.api_client()).create_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        namespace,
        names.SECRET_PLURAL,
        {
            "apiVersion": names.API_VERSION,
            "kind": names.SECRET_KIND,
            "metadata": {"name": name},
            "spec": spec,
        },
    )


def grant(plane: ControlPlane, namespace: str, *senders: dict[str, str], name: str = "g") -> None:
    """Create a DeliveryGrant in ``namespace`` for ``senders`` (``{"namespace": ...}``)."""
    client.CustomObjectsApi(plane.api_client()).create_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        namespace,
        names.GRANT_PLURAL,
        {
            "apiVersion": names.API_VERSION,
            "kind": names.GRANT_KIND,
            "metadata": {"name": name},
            "spec": {"from": list(senders)},
        },
    )


def get_secret(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    """A DecentralizedSecret as the apiserver returns it."""
    found: Any = client.CustomObjectsApi(plane.api_client()).get_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name
    )
    return dict(found)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """The condition of type ``kind`` in an object's status, or {} when it has none."""
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return dict(found)
    return {}


def wait_for(
    plane: ControlPlane,
    namespace: str,
    name: str,
    kind: str,
    value: str,
    *,
    reason: str | None = None,
    operator: OperatorProcess,
) -> dict[str, Any]:
    """Wait until condition ``kind`` has ``value`` (and ``reason``); return the object."""
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(get_secret(plane, namespace, name))
        found = condition(seen, kind)
        return found.get("status") == value and reason in (None, found.get("reason"))

    wait_until(
        reached,
        timeout=TIMEOUT,
        what=f"{kind}={value} on {namespace}/{name}",
        interval=0.5,
        log=operator.log,
    )
    return seen


def secret_exists(plane: ControlPlane, namespace: str, name: str) -> bool:
    """Whether the Secret ``namespace/name`` exists."""
    try:
        client.CoreV1Api(plane.api_client()).read_namespaced_secret(name, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def secret_data(plane: ControlPlane, namespace: str, name: str) -> dict[str, bytes]:
    """A Secret's decoded data."""
    secret = client.CoreV1Api(plane.api_client()).read_namespaced_secret(name, namespace)
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}
