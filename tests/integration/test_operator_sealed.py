"""The ``sealed`` source end to end: ``kuorum seal`` against a real apiserver and real
share nodes, the manifest applied, a real operator forwarding shares it cannot open.

The data key is fixed in this test process (where ``kuorum seal`` runs) so the test can
look for it, in every encoding, where it must never be: the operator's log, its Events
and the secret's status.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client
from nodes import ShareNodes, share_nodes_fixture  # noqa: F401
from operators import (  # noqa: F401
    NODE_FLAGS,
    OperatorProcess,
    condition,
    get_secret,
    grant,
    namespace_fixture,
    operator_fixture,
    secret_data,
    secret_exists,
    wait_for,
)

from kuorum import names, sharing
from kuorum.cli import main
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.envelope import NodeKeys

pytestmark = pytest.mark.integration
DATA_KEY = sharing.new_data_key()
"""Random, but known to this test, which hunts for it."""


@pytest.fixture
def known_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    """Make ``kuorum seal`` in this process draw DATA_KEY, so the test can hunt for it."""
    monkeypatch.setattr(sharing, "new_data_key", lambda: DATA_KEY)
    yield DATA_KEY


def seal(plane: ControlPlane, tmp_path: Path, namespace: str, *argv: str) -> dict[str, Any]:
    """Run ``kuorum seal`` as a user would, against the cluster; return the manifest."""
    out = tmp_path / f"sealed-{uuid.uuid4().hex[:6]}.yaml"
    base = ["seal", "--kubeconfig", str(plane.kubeconfig), "-n", namespace, "-o", str(out)]
    assert main([*base, *argv]) == 0
    manifest: dict[str, Any] = yaml.safe_load(out.read_text())
    return manifest


def apply(plane: ControlPlane, manifest: dict[str, Any]) -> None:
    """Create or replace the DecentralizedSecret, as ``kubectl apply`` of a new commit would."""
    custom = client.CustomObjectsApi(plane.api_client())
    meta = manifest["metadata"]
    try:
        current: Any = custom.get_namespaced_custom_object(
            names.GROUP, names.VERSION, meta["namespace"], names.SECRET_PLURAL, meta["name"]
        )
    except client.ApiException:
        custom.create_namespaced_custom_object(
            names.GROUP, names.VERSION, meta["namespace"], names.SECRET_PLURAL, manifest
        )
        return
    custom.patch_namespaced_custom_object(
        names.GROUP,
        names.VERSION,
        meta["namespace"],
        names.SECRET_PLURAL,
        meta["name"],
        {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]}}
        | {"spec": manifest["spec"]},
    )


def events(plane: ControlPlane, namespace: str) -> str:
    listed = client.CoreV1Api(plane.api_client()).list_namespaced_event(namespace)
    return "\n".join(f"{e.reason}: {e.message}" for e in listed.items)


def encodings(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
    ]


def test_a_sealed_secret_is_ready_and_its_key_and_values_never_reach_the_operator(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    namespace: str,
    tmp_path: Path,
    known_key: bytes,
) -> None:
    share_nodes.start(5, extra=NODE_FLAGS)
    password = f"pw-{uuid.uuid4().hex}"
    db = ["--name", "db", "--threshold", "3", "--shares", "5"]
    literal = "--from-literal"
    manifest = seal(
        control_plane,
        tmp_path,
        namespace,
        *db,
        literal,
        f"password={password}",
        literal,
        "user=app",
    )
    assert password not in yaml.safe_dump(manifest)
    assert manifest["spec"]["source"]["sealed"]["version"] == 1
    apply(control_plane, manifest)
    obj = wait_for(control_plane, namespace, "db", "Ready", "True", operator=operator)
    assert secret_data(control_plane, namespace, "db") == {
        "password": password.encode(),
        "user": b"app",
    }
    status = obj["status"]
    sealed_to = {s["node"]: s["index"] for s in manifest["spec"]["source"]["sealed"]["shares"]}
    assert {n["name"]: n["index"] for n in status["nodes"]} == sealed_to
    assert status["version"] == 1 and status["sharesReachable"] == 5
    bundle = manifest["spec"]["source"]["sealed"]["payload"]
    assert bundle not in json.dumps(obj["metadata"]), "kopf keeps no copy of the spec"

    # a new commit: values re-sealed, the version taken one above the cluster's
    manifest = seal(control_plane, tmp_path, namespace, *db, literal, "password=rotated")
    assert manifest["spec"]["source"]["sealed"]["version"] == 2
    apply(control_plane, manifest)
    wait_until(
        lambda: secret_data(control_plane, namespace, "db") == {"password": b"rotated"},
        timeout=90,
        what="the target Secret to follow version 2",
        log=operator.log,
    )
    seen = "\n".join(
        [
            operator.log.read_text(),
            events(control_plane, namespace),
            str(get_secret(control_plane, namespace, "db")),
        ]
    )
    for hidden in [password, "rotated", *encodings(known_key), *encodings(password.encode())]:
        assert hidden not in seen


def test_a_sealed_version_at_or_below_the_committed_one_is_refused_with_the_fix(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    namespace: str,
    tmp_path: Path,
) -> None:
    share_nodes.start(3, extra=NODE_FLAGS)
    common = ["--name", "api", "--threshold", "2", "--shares", "3"]
    first = seal(control_plane, tmp_path, namespace, *common, "--from-literal", "k=one")
    apply(control_plane, first)
    wait_for(control_plane, namespace, "api", "Ready", "True", operator=operator)
    again = seal(
        control_plane, tmp_path, namespace, *common, "--from-literal", "k=two", "--version", "1"
    )
    apply(control_plane, again)
    obj = wait_for(
        control_plane,
        namespace,
        "api",
        "Distributed",
        "False",
        reason="InvalidSpec",
        operator=operator,
    )
    assert "--version 2" in condition(obj, "Distributed")["message"]
    assert secret_data(control_plane, namespace, "api") == {"k": b"one"}, "the old value serves"
    assert condition(obj, "Ready")["status"] == "True"


def test_a_node_whose_keys_changed_since_sealing_is_named_and_nothing_is_stored(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    namespace: str,
    tmp_path: Path,
) -> None:
    nodes = share_nodes.start(3, extra=NODE_FLAGS)
    listed: Any = client.CustomObjectsApi(control_plane.api_client()).list_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL
    )
    mine = {n.name for n in nodes}
    items = [i for i in listed["items"] if i["metadata"]["name"] in mine]
    replaced = next(i for i in items if i["metadata"]["name"] == nodes[1].name)
    replaced["spec"].update(NodeKeys.generate().public().to_dict())  # keys it no longer has
    snapshot = tmp_path / "nodes.yaml"
    snapshot.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    manifest = seal(
        control_plane,
        tmp_path,
        namespace,
        "--name",
        "cache",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--from-literal",
        "k=v",
        "--nodes",
        str(snapshot),
    )
    apply(control_plane, manifest)
    obj = wait_for(
        control_plane,
        namespace,
        "cache",
        "Degraded",
        "True",
        reason="NodeKeyChanged",
        operator=operator,
    )
    assert nodes[1].name in condition(obj, "Degraded")["message"]
    assert condition(obj, "Ready")["status"] == "False"
    assert "version" not in obj["status"]
    for node in nodes:  # nothing was forwarded: a sealed version goes to all nodes or none
        answer = node.request("GET", f"/v1/shares/{namespace}/cache", token=node.operator_token)
        assert answer.json() == []


def test_only_sources_sealed_by_a_trusted_key_are_forwarded(
    control_plane: ControlPlane, share_nodes: ShareNodes, namespace: str, tmp_path: Path
) -> None:
    """A tenant who may create DecentralizedSecrets seals values of their own: with
    --trusted-sealer, the operator stores only what the platform team's key sealed."""
    nodes = share_nodes.start(3, extra=NODE_FLAGS)
    team = ed25519.Ed25519PrivateKey.generate()
    pem = tmp_path / "sealer.pem"
    pem.write_bytes(
        team.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    operator = OperatorProcess(control_plane, tmp_path / "operator")
    trusted = base64.b64encode(team.public_key().public_bytes_raw()).decode()
    operator.argv += ["--trusted-sealer", trusted]
    operator.start()
    try:
        common = ["--threshold", "2", "--shares", "3", "--from-literal", "k=v"]
        ours = seal(
            control_plane, tmp_path, namespace, "--name", "ours", "--sealer-key", str(pem), *common
        )
        theirs = seal(control_plane, tmp_path, namespace, "--name", "theirs", *common)
        apply(control_plane, ours)
        apply(control_plane, theirs)
        wait_for(control_plane, namespace, "ours", "Ready", "True", operator=operator)
        obj = wait_for(
            control_plane,
            namespace,
            "theirs",
            "Distributed",
            "False",
            reason="UntrustedSealer",
            operator=operator,
        )
        assert "--trusted-sealer" in condition(obj, "Distributed")["message"]
        for node in nodes:  # nothing of the untrusted source was stored anywhere
            held = node.request("GET", f"/v1/shares/{namespace}/theirs", token=node.operator_token)
            assert held.json() == []
    finally:
        operator.stop()


def test_an_edited_access_of_a_sealed_secret_copies_nothing_until_it_is_sealed_again(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    namespace: str,
    tmp_path: Path,
) -> None:
    """Whoever may edit the DecentralizedSecret, but does not hold the sealer's key, adds
    their own namespace to spec.access: the values are not copied there."""
    share_nodes.start(3, extra=NODE_FLAGS)
    web, attacker = f"{namespace}-web", f"{namespace}-x"
    for extra in (web, attacker):  # the attacker owns theirs, so they can grant it too
        control_plane.create_namespace(extra)
        grant(control_plane, extra, {"namespace": namespace})
    common = ["--name", "shared", "--threshold", "2", "--shares", "3", "--from-literal", "k=v"]
    manifest = seal(control_plane, tmp_path, namespace, *common, "--access-namespace", web)
    assert manifest["spec"]["source"]["sealed"]["namespaceUID"]
    apply(control_plane, manifest)
    wait_for(control_plane, namespace, "shared", "Ready", "True", operator=operator)
    assert secret_data(control_plane, web, "shared") == {"k": b"v"}

    custom = client.CustomObjectsApi(control_plane.api_client())
    widened = {"spec": {"access": {"namespaces": [web, attacker]}}}
    custom.patch_namespaced_custom_object(
        names.GROUP, names.VERSION, namespace, names.SECRET_PLURAL, "shared", widened
    )
    obj = wait_for(
        control_plane,
        namespace,
        "shared",
        "Ready",
        "False",
        reason="ResealRequired",
        operator=operator,
    )
    assert "kuorum seal again" in condition(obj, "Ready")["message"]
    assert not secret_exists(control_plane, attacker, "shared"), "nothing copied"
    assert secret_data(control_plane, web, "shared") == {"k": b"v"}

    # the sealer agrees: sealed again for both namespaces, it is delivered to both
    both = ["--access-namespace", web, "--access-namespace", attacker]
    apply(control_plane, seal(control_plane, tmp_path, namespace, *common, *both))
    wait_until(
        lambda: secret_exists(control_plane, attacker, "shared"),
        timeout=90,
        what="the re-sealed version to reach the namespace it now names",
        log=operator.log,
    )
    assert secret_data(control_plane, attacker, "shared") == {"k": b"v"}


def test_a_sealed_manifest_applied_after_its_namespace_was_re_created_is_refused(
    control_plane: ControlPlane,
    share_nodes: ShareNodes,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    """Sealed for namespace shop-…; the namespace is deleted and someone else creates one
    of the same name and applies the manifest from Git: nothing is stored or written."""
    nodes = share_nodes.start(3, extra=NODE_FLAGS)
    core = client.CoreV1Api(control_plane.api_client())
    namespace = f"shop-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(namespace)
    argv = ["--name", "db", "--threshold", "2", "--shares", "3", "--from-literal", "k=v"]
    manifest = seal(control_plane, tmp_path, namespace, *argv)
    core.delete_namespace(namespace)

    def gone() -> bool:
        try:
            core.read_namespace(namespace)
        except client.ApiException as error:
            return error.status == 404
        return False

    wait_until(gone, timeout=60, what=f"namespace {namespace} to be deleted")
    control_plane.create_namespace(namespace)
    apply(control_plane, manifest)
    obj = wait_for(
        control_plane,
        namespace,
        "db",
        "Distributed",
        "False",
        reason="NamespaceChanged",
        operator=operator,
    )
    assert "deleted and re-created" in condition(obj, "Distributed")["message"]
    assert not secret_exists(control_plane, namespace, "db")
    for node in nodes:
        held = node.request("GET", f"/v1/shares/{namespace}/db", token=node.operator_token)
        assert held.json() == []
