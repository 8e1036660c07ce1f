"""One node is one node: its credentials open nothing at its peers and write only its own
ShareNode, and no one changes a ShareNode's keys in place.

Each attack is made as the attacker would make it: with the real token a node received
from the operator, or with the node's own apiserver credentials, against real node
processes and the real apiserver (its admission policies and CRD rules).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from kubernetes import client
from nodes import (
    ShareNodes,
    ledger_entries,
    public_keys,
    release,
    share_nodes_fixture,  # noqa: F401 - the share_nodes fixture
    store_body,
)

from kuorum import b64, names, sharing
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.devenv.stack import node_kubeconfig
from kuorum.kube.client import api_client
from kuorum.ledger import Entry, EntryKind
from kuorum.ledger.witness import add_checkpoint_request
from kuorum.node.settings import DEFAULT_TOKEN_CACHE_SECONDS
from kuorum.node.tls import make_certificate

pytestmark = pytest.mark.integration


def test_a_token_for_one_node_is_refused_and_logged_by_another(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """Node A replays the operator's token it received to node B: B serves none of it."""
    a, b = share_nodes.start(2)
    stolen = a.operator_token
    dealt = sharing.split(sharing.new_data_key(), 2, 2)
    keys_b = public_keys(control_plane, b)
    body_b = store_body(b, keys_b, dealt, namespace="team", name="db", version=1, index=2)
    stored = b.request("PUT", "/v1/shares/team/db/1", token=b.operator_token, body=body_b)
    assert stored.status == 200, stored.body

    before = len(ledger_entries(b))
    attempts = [
        b.request("PUT", "/v1/shares/team/db/2", token=stolen, body=body_b),
        b.request("GET", "/v1/shares/team/db", token=stolen),
        release(b, keys_b, stolen, namespace="team", name="db", version=1)[0],
        b.request("DELETE", "/v1/shares/team/db/1", token=stolen),
        b.request("DELETE", "/v1/shares/team/db", token=stolen),
        b.request("POST", "/v1/ledger/add-checkpoint", token=stolen, raw=b"old 0\n\n"),
    ]
    for answer in attempts:
        assert answer.status == 401, answer.body
        assert names.node_audience(b.name) in answer.json()["error"]
    refusals = [Entry.from_bytes(e) for e in ledger_entries(b)[before:]]
    assert [e.kind for e in refusals] == [EntryKind.SHARE_REFUSED] * len(attempts)
    assert all(stolen.encode() not in e.to_bytes() for e in refusals)
    held = b.request("GET", "/v1/shares/team/db", token=b.operator_token).json()
    assert [item["version"] for item in held] == [1], "the share B holds is untouched"
    # the same token still works where it belongs
    assert a.request("GET", "/v1/shares/team/db", token=stolen).status == 200

    # A's own pod token for B's audience submits A's checkpoints, never another log's
    a_for_b = (share_nodes.directory / "peer-tokens" / a.name / b.name).read_text()
    b_log = add_checkpoint_request(0, [], b.request("GET", "/v1/ledger/checkpoint").body)
    answer = b.request("POST", "/v1/ledger/add-checkpoint", token=a_for_b, raw=b_log)
    assert answer.status == 404 and b"unknown log origin" in answer.body


def _share_nodes_api(plane: ControlPlane, name: str) -> client.CustomObjectsApi:
    """The ShareNode API as node ``name`` reaches it: its own pod-bound token."""
    return client.CustomObjectsApi(api_client(node_kubeconfig(plane, name)))


def _refused(call: Any, status: int = 403) -> str:
    with pytest.raises(client.ApiException) as raised:
        call()
    assert raised.value.status == status, raised.value.body
    return str(raised.value.body)


def test_a_node_writes_only_its_own_sharenode(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    a, b = share_nodes.start(2)
    as_a = _share_nodes_api(control_plane, a.name)
    group = (names.GROUP, names.VERSION, names.NODE_PLURAL)
    heartbeat = {"status": {"sharesHeld": 0}}
    as_a.patch_cluster_custom_object_status(*group, a.name, heartbeat)  # its own: allowed

    message = _refused(
        lambda: as_a.patch_cluster_custom_object(*group, b.name, {"spec": {"zone": "evil"}})
    )
    assert f"share node {a.name} may write only ShareNode {a.name}" in message
    _refused(lambda: as_a.patch_cluster_custom_object_status(*group, b.name, heartbeat))
    spec = as_a.get_cluster_custom_object(*group, b.name)["spec"]
    fake = {
        "apiVersion": names.API_VERSION,
        "kind": names.NODE_KIND,
        "metadata": {"name": "fake-node-in-a-new-zone"},
        "spec": {**spec, "zone": "zone-new"},
    }
    _refused(lambda: as_a.create_cluster_custom_object(*group, fake))
    _refused(lambda: as_a.delete_cluster_custom_object(*group, a.name))
    admin = client.CustomObjectsApi(control_plane.api_client())
    assert admin.get_cluster_custom_object(*group, b.name)["spec"]["zone"] != "evil"

    # the node account's token without a pod behind it writes nothing at all
    loose = control_plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.NODE_ACCOUNT)
    as_account = client.CustomObjectsApi(api_client(loose))
    assert "names no pod" in _refused(
        lambda: as_account.patch_cluster_custom_object_status(*group, a.name, heartbeat)
    )


def test_keys_of_a_sharenode_never_change_in_place(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """Not even an administrator (or the node itself) swaps a registered key."""
    (node,) = share_nodes.start(1)
    group = (names.GROUP, names.VERSION, names.NODE_PLURAL)
    other = sharing.new_data_key()  # 32 random bytes, an Ed25519 public key's size
    new_key = b64.encode(other)
    for api in (
        client.CustomObjectsApi(control_plane.api_client()),
        _share_nodes_api(control_plane, node.name),
    ):
        for patch in (
            {"spec": {"signingKey": new_key}},
            {"spec": {"encryptionKey": {"kem": "X25519", "publicKey": new_key}}},
            {"spec": {"tlsCertificate": _other_certificate()}},
        ):
            message = _refused(
                lambda api=api, patch=patch: api.patch_cluster_custom_object(
                    *group, node.name, patch
                ),
                status=422,
            )
            assert "kuorum nodes rekey" in message
    assert public_keys(control_plane, node).signing.public_bytes_raw() != other


def _other_certificate() -> str:
    now = datetime.datetime.now(datetime.UTC)
    certificate, _ = make_certificate("someone-else", ("someone-else",), now=now)
    return certificate.decode()


def test_a_deleted_accounts_token_stops_working_after_the_cache_bound(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """A token the node accepted (and cached) is refused once its ServiceAccount is gone
    and the node's positive cache (DEFAULT_TOKEN_CACHE_SECONDS) has run out."""
    (node,) = share_nodes.start(1)
    namespace = names.SYSTEM_NAMESPACE
    token = control_plane.token(namespace, "short-lived", audience=names.node_audience(node.name))
    assert node.request("GET", "/v1/shares/team/db", token=token).status == 403  # known, cached
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_service_account(
        "short-lived", namespace
    )
    reviews = client.AuthenticationV1Api(control_plane.api_client())
    wait_until(
        lambda: (
            not reviews.create_token_review(
                client.V1TokenReview(
                    spec=client.V1TokenReviewSpec(
                        token=token, audiences=[names.node_audience(node.name)]
                    )
                )
            ).status.authenticated
        ),
        timeout=30,
        what="the apiserver refusing the deleted account's token",
    )
    time.sleep(DEFAULT_TOKEN_CACHE_SECONDS)
    answer = node.request("GET", "/v1/shares/team/db", token=token)
    assert answer.status == 401, answer.body
    assert "not accepted by TokenReview" in answer.json()["error"]
