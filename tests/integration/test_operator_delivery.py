"""Delivery into other namespaces, against a real apiserver, nodes and operator: a
namespace receives a copy only when a DeliveryGrant there names the secret, never a
system namespace, and a copy that is no longer allowed is deleted, and only that one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from nodes import ShareNodes, share_nodes_fixture  # noqa: F401
from operators import (  # noqa: F401
    NODE_FLAGS,
    TIMEOUT,
    OperatorProcess,
    apply_secret,
    condition,
    get_secret,
    grant,
    namespace_fixture,
    operator_fixture,
    secret_data,
    secret_exists,
    wait_for,
)

from kuorum import names
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until

pytestmark = pytest.mark.integration
SPEC = {"threshold": 2, "shares": 3, "source": {"generate": {"keys": [{"name": "k"}]}}}


def _patch(plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any]) -> None:
    client.CustomObjectsApi(plane.api_client()).patch_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, name, {"spec": spec}
    )


def _copies(plane: ControlPlane, namespace: str, name: str) -> list[tuple[str, str]]:
    status = get_secret(plane, namespace, name).get("status") or {}
    return sorted((c["namespace"], c["name"]) for c in status.get("copies") or ())


def _same(plane: ControlPlane, copy: str, source: str, name: str) -> bool:
    return secret_data(plane, copy, name) == secret_data(plane, source, name)


def test_a_copy_goes_only_where_a_grant_allows_and_leaves_when_it_is_no_longer_allowed(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    web, apps = f"{namespace}-web", f"{namespace}-apps"
    for other in (web, apps):
        control_plane.create_namespace(other)
    apply_secret(control_plane, namespace, "db", {**SPEC, "access": {"namespaces": [web, apps]}})
    obj = wait_for(
        control_plane, namespace, "db", "Ready", "False", reason="NotGranted", operator=operator
    )
    message = condition(obj, "Ready")["message"]
    assert f"{web}, {apps}" in message and "kubectl explain deliverygrant" in message
    assert secret_exists(control_plane, namespace, "db"), "its own namespace needs no grant"
    assert not secret_exists(control_plane, web, "db") and not secret_exists(
        control_plane, apps, "db"
    )

    grant(control_plane, web, {"namespace": namespace, "name": "db"})
    grant(control_plane, apps, {"namespace": namespace})
    wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    values = secret_data(control_plane, namespace, "db")
    assert secret_data(control_plane, web, "db") == secret_data(control_plane, apps, "db") == values
    assert _copies(control_plane, namespace, "db") == [(namespace, "db"), (apps, "db"), (web, "db")]

    # apps dropped from access: exactly that copy goes (a changed spec of a generated
    # source also deals new values: web follows them)
    _patch(control_plane, namespace, "db", {"access": {"namespaces": [web]}})
    wait_until(
        lambda: not secret_exists(control_plane, apps, "db"),
        timeout=TIMEOUT,
        what="the copy in the namespace dropped from access to be deleted",
        log=operator.log,
    )
    wait_until(
        lambda: (
            secret_data(control_plane, web, "db") == secret_data(control_plane, namespace, "db")
        ),
        timeout=TIMEOUT,
        what="the copy in web to follow the new version",
        log=operator.log,
    )
    wait_until(
        lambda: _copies(control_plane, namespace, "db") == [(namespace, "db"), (web, "db")],
        timeout=TIMEOUT,
        what="status.copies to forget the deleted copy",
        log=operator.log,
    )

    # web withdraws its grant: its copy goes, and Ready says why
    client.CustomObjectsApi(control_plane.api_client()).delete_namespaced_custom_object(
        names.GROUP, names.VERSION, web, names.GRANT_PLURAL, "g"
    )
    wait_until(
        lambda: not secret_exists(control_plane, web, "db"),
        timeout=TIMEOUT,
        what="the copy whose grant was withdrawn to be deleted",
        log=operator.log,
    )
    wait_for(
        control_plane, namespace, "db", "Ready", "False", reason="NotGranted", operator=operator
    )
    assert secret_exists(control_plane, namespace, "db")


def test_deleting_the_secret_deletes_every_copy_it_made_and_nothing_else(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    web = f"{namespace}-web"
    control_plane.create_namespace(web)
    grant(control_plane, web, {"namespace": namespace})
    core = client.CoreV1Api(control_plane.api_client())
    bystander = core.create_namespaced_secret(web, {"metadata": {"name": "bystander"}})
    apply_secret(control_plane, namespace, "db", {**SPEC, "access": {"namespaces": [web]}})
    wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    assert secret_exists(control_plane, web, "db")
    client.CustomObjectsApi(control_plane.api_client()).delete_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, "db"
    )
    wait_until(
        lambda: not secret_exists(control_plane, web, "db"),
        timeout=TIMEOUT,
        what="the copy to go with its DecentralizedSecret",
        log=operator.log,
    )
    kept = core.read_namespaced_secret("bystander", web)
    assert kept.metadata.resource_version == bystander.metadata.resource_version


def test_system_namespaces_and_kuorums_own_are_never_targets(
    control_plane: ControlPlane, share_nodes: ShareNodes, operator: OperatorProcess, namespace: str
) -> None:
    """A tenant lists kube-system (granted there by a careless admin) and the namespace
    Kuorum runs in: nothing is written in either."""
    share_nodes.start(3, extra=NODE_FLAGS)
    grant(control_plane, "kube-system", {"namespace": namespace}, name=f"careless-{namespace}")
    target = f"from-{namespace}"
    spec = {
        **SPEC,
        "target": {"name": target},
        "access": {"namespaces": ["kube-system", names.SYSTEM_NAMESPACE]},
    }
    apply_secret(control_plane, namespace, "db", spec)
    obj = wait_for(
        control_plane,
        namespace,
        "db",
        "Ready",
        "False",
        reason="ForbiddenNamespace",
        operator=operator,
    )
    assert f"kube-system, {names.SYSTEM_NAMESPACE}" in condition(obj, "Ready")["message"]
    assert secret_exists(control_plane, namespace, target)
    for system in ("kube-system", names.SYSTEM_NAMESPACE):
        assert not secret_exists(control_plane, system, target)


def test_an_operator_confined_to_some_namespaces_serves_and_writes_only_there(
    control_plane: ControlPlane, share_nodes: ShareNodes, namespace: str, tmp_path: Path
) -> None:
    """operator.watchNamespaces: DecentralizedSecrets elsewhere are not touched, and a
    copy into a namespace it does not serve is refused, grant or not."""
    share_nodes.start(3, extra=NODE_FLAGS)
    outside = f"{namespace}-out"
    control_plane.create_namespace(outside)
    grant(control_plane, outside, {"namespace": namespace})
    operator = OperatorProcess(control_plane, tmp_path / "operator")
    operator.argv += ["--watch-namespace", namespace]
    operator.start()
    try:
        apply_secret(control_plane, outside, "elsewhere", SPEC)
        apply_secret(control_plane, namespace, "db", {**SPEC, "access": {"namespaces": [outside]}})
        obj = wait_for(
            control_plane,
            namespace,
            "db",
            "Ready",
            "False",
            reason="ForbiddenNamespace",
            operator=operator,
        )
        assert outside in condition(obj, "Ready")["message"]
        assert secret_exists(control_plane, namespace, "db")
        assert not secret_exists(control_plane, outside, "db")
        assert "status" not in get_secret(control_plane, outside, "elsewhere"), "not served"
    finally:
        operator.stop()
