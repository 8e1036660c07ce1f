"""The local control plane behaves like a real cluster where Kuorum relies on it."""

from __future__ import annotations

import time
import uuid

import pytest
from kubernetes import client

from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until

pytestmark = pytest.mark.integration


def test_apiserver_reports_the_pinned_version(control_plane: ControlPlane) -> None:
    version = client.VersionApi(control_plane.api_client()).get_code()
    assert version.git_version == "v1.36.3"


def test_deployment_gets_its_replicaset_and_pending_pods(control_plane: ControlPlane) -> None:
    namespace = f"deploy-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    api = control_plane.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
            },
        },
    )

    def two_pods() -> bool:
        return len(core.list_namespaced_pod(namespace, label_selector="app=web").items) == 2

    wait_until(two_pods, timeout=60, what="pods of deployment web")
    replicasets = apps.list_namespaced_replica_set(namespace).items
    assert len(replicasets) == 1
    assert replicasets[0].metadata.owner_references[0].name == "web"
    pods = core.list_namespaced_pod(namespace).items
    assert {pod.status.phase for pod in pods} == {"Pending"}  # no scheduler, no kubelet


def test_deleting_an_owner_garbage_collects_what_it_owns(control_plane: ControlPlane) -> None:
    namespace = f"gc-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    core = client.CoreV1Api(control_plane.api_client())
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "owned",
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner.metadata.uid,
                    }
                ],
            }
        },
    )
    core.delete_namespaced_config_map("owner", namespace)

    def collected() -> bool:
        try:
            core.read_namespaced_secret("owned", namespace)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait_until(collected, timeout=60, what="garbage collection of secret owned")


def test_namespace_deletion_finishes(control_plane: ControlPlane) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    core = client.CoreV1Api(control_plane.api_client())
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "x"}})
    core.delete_namespace(namespace)

    def gone() -> bool:
        try:
            core.read_namespace(namespace)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait_until(gone, timeout=90, what=f"deletion of namespace {namespace}")


def test_token_review_accepts_a_requested_token_for_its_audience(
    control_plane: ControlPlane,
) -> None:
    token = control_plane.token("default", "reviewer-probe", audience="kuorum.io/node", seconds=600)
    review = client.AuthenticationV1Api(control_plane.api_client()).create_token_review(
        {"spec": {"token": token, "audiences": ["kuorum.io/node"]}}
    )
    assert review.status.authenticated
    assert review.status.user.username == "system:serviceaccount:default:reviewer-probe"
    wrong = client.AuthenticationV1Api(control_plane.api_client()).create_token_review(
        {"spec": {"token": token, "audiences": ["someone-else"]}}
    )
    assert not wrong.status.authenticated


def test_stop_leaves_no_process_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    plane = ControlPlane(tmp_path_factory.mktemp("short-lived"), tie_to_parent=True)
    plane.start()
    records = plane.supervisor.records()
    assert {r.name for r in records} == {"etcd", "kube-apiserver", "kube-controller-manager"}
    plane.stop()
    time.sleep(0.2)
    for record in records:
        assert not _process_exists(record.pid), record.name


def _process_exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def test_kubectl_of_the_same_release_talks_to_it(control_plane: ControlPlane) -> None:
    result = control_plane.kubectl("version", "-o", "json")
    assert '"gitVersion": "v1.36.3"' in result.stdout
