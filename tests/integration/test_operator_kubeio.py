"""The operator's Kubernetes calls against a real apiserver, with its real credentials:
what holds a target name is remembered for ``resync`` seconds (a quiet pass reads
nothing), forgotten when the operator writes or deletes, and a foreign Secret is never
taken over."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from kubernetes import client

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.kube.client import api_client
from kuorum.operator.kubeio import KubeIO, Target, TargetConflict

pytestmark = pytest.mark.integration

RESYNC = 60.0
OURS = Target(exists=True, owned=True, version=1)
NOTHING = Target(exists=False, owned=False, version=None)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def namespace(control_plane: ControlPlane) -> str:
    name = f"kubeio-{uuid.uuid4().hex[:8]}"
    control_plane.create_namespace(name)
    return name


@pytest.fixture
def kube(control_plane: ControlPlane) -> tuple[KubeIO, Clock]:
    account = install.grant_component(control_plane.api_client(), "operator")
    api = api_client(control_plane.kubeconfig_for(names.SYSTEM_NAMESPACE, account))
    clock = Clock()
    return KubeIO(api, resync=RESYNC, clock=clock), clock


def _write(kube: KubeIO, namespace: str, uid: str, version: int = 1) -> None:
    asyncio.run(
        kube.write_secret(
            namespace,
            "db",
            {"password": b"s3cret"},
            secret_type="Opaque",
            version=version,
            uid=uid,
            labels={},
            owner=None,
        )
    )


def test_a_target_is_remembered_for_resync_seconds_then_read_again(
    control_plane: ControlPlane, kube: tuple[KubeIO, Clock], namespace: str
) -> None:
    io, clock = kube
    uid = str(uuid.uuid4())
    _write(io, namespace, uid)
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_secret("db", namespace)
    assert asyncio.run(io.target(namespace, "db", uid)) == OURS  # as written: no read
    clock.now += RESYNC
    assert asyncio.run(io.target(namespace, "db", uid)) == NOTHING  # read again
    _write(io, namespace, uid, version=2)  # created again, and remembered as written
    assert asyncio.run(io.target(namespace, "db", uid)).version == 2


def test_another_uid_does_not_get_what_was_remembered_for_one(
    kube: tuple[KubeIO, Clock], namespace: str
) -> None:
    io, _ = kube
    ours, other = str(uuid.uuid4()), str(uuid.uuid4())
    _write(io, namespace, ours)
    assert asyncio.run(io.target(namespace, "db", other)) == Target(True, False, None)
    with pytest.raises(TargetConflict):
        _write(io, namespace, other)
    assert asyncio.run(io.target(namespace, "db", ours)) == OURS


def test_a_foreign_secret_is_never_replaced_and_deleting_forgets(
    control_plane: ControlPlane, kube: tuple[KubeIO, Clock], namespace: str
) -> None:
    io, _ = kube
    uid = str(uuid.uuid4())
    core = client.CoreV1Api(control_plane.api_client())
    body: Any = {"metadata": {"name": "db"}, "data": {}}
    core.create_namespaced_secret(namespace, body)
    with pytest.raises(TargetConflict):
        _write(io, namespace, uid)
    foreign: Any = core.read_namespaced_secret("db", namespace)
    assert foreign.metadata.labels is None  # untouched
    assert asyncio.run(io.delete_copy(namespace, "db", uid)) is False
    core.delete_namespaced_secret("db", namespace)
    _write(io, namespace, uid)
    assert asyncio.run(io.delete_copy(namespace, "db", uid)) is True
    assert asyncio.run(io.target(namespace, "db", uid)) == NOTHING  # forgotten, read


def test_missing_objects_read_as_none(kube: tuple[KubeIO, Clock], namespace: str) -> None:
    io, _ = kube
    assert asyncio.run(io.read_secret_data(namespace, "absent")) is None
    assert asyncio.run(io.namespace_uid(f"absent-{uuid.uuid4().hex[:6]}")) is None
    assert asyncio.run(io.namespace_uid(namespace))
