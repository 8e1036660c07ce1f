"""Real node processes against a real apiserver: custody round trip, refusals, crashes."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client
from nodes import (
    OPERATOR_IDENTITY,
    NodeProcess,
    ShareNodes,
    ledger_entries,
    public_keys,
    release,
    share_nodes_fixture,  # noqa: F401 - the share_nodes fixture
    store_body,
)

from kuorum import names, sharing
from kuorum.devenv.controlplane import ControlPlane
from kuorum.ledger import Entry, EntryKind

pytestmark = pytest.mark.integration


def test_store_release_destroy_round_trip(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    (node,) = share_nodes.start(1)
    keys = public_keys(control_plane, node)
    token = node.operator_token
    dealt = sharing.split(sharing.new_data_key(), 2, 3)
    body = store_body(node, keys, dealt, namespace="team", name="db", version=1)

    stored = node.request("PUT", "/v1/shares/team/db/1", token=token, body=body)
    assert stored.status == 200, stored.body
    assert (
        node.request("PUT", "/v1/shares/team/db/1", token=token, body=body).json() == stored.json()
    )

    response, share = release(node, keys, token, namespace="team", name="db", version=1)
    assert response.status == 200, response.body
    assert share == dealt.shares[0]
    assert sharing.verify(share, dealt.commitments)

    destroyed = node.request("DELETE", "/v1/shares/team/db/1", token=token)
    assert destroyed.json() == {"destroyed": [1]}
    response, _ = release(node, keys, token, namespace="team", name="db", version=1)
    assert response.status == 404

    kinds = [Entry.from_bytes(entry).kind for entry in ledger_entries(node)]
    assert kinds[-3:] == [
        EntryKind.SHARE_STORED,
        EntryKind.SHARE_RELEASED,
        EntryKind.SHARE_DESTROYED,
    ]
    status = client.CustomObjectsApi(control_plane.api_client()).get_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL, node.name
    )
    assert status["spec"]["tlsCertificate"] == node.tls_certificate()
    assert status["status"]["conditions"][0]["type"] == "Ready"


def _wait_until_token_is_rejected(control_plane: ControlPlane, token: str, audience: str) -> None:
    """The apiserver forgets a deleted ServiceAccount's tokens quickly, but not instantly."""
    api = client.AuthenticationV1Api(control_plane.api_client())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        review = api.create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=[audience]))
        )
        if not review.status.authenticated:
            return
        time.sleep(0.2)
    raise AssertionError("the deleted ServiceAccount's token still authenticates")


def test_every_kind_of_bad_caller_is_refused_and_logged(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    """No token, another account, another node's audience, the apiserver's audience and
    an expired token are refused.

    Expiry: TokenRequest will not issue tokens shorter than 10 minutes, so the test uses
    a token whose ServiceAccount was deleted, which TokenReview rejects exactly as an
    expired one (the unit tests cover the cache bound at the token's ``exp``).
    """
    (node,) = share_nodes.start(1)
    keys = public_keys(control_plane, node)
    namespace = names.SYSTEM_NAMESPACE
    audience = names.node_audience(node.name)
    intruder = control_plane.token(namespace, "intruder", audience=audience)
    other_node = share_nodes.operator_token("another-node")
    apiserver = control_plane.token(namespace, names.OPERATOR_ACCOUNT)
    doomed = control_plane.token(namespace, "doomed", audience=audience)
    client.CoreV1Api(control_plane.api_client()).delete_namespaced_service_account(
        "doomed", namespace
    )
    _wait_until_token_is_rejected(control_plane, doomed, audience)
    dealt = sharing.split(sharing.new_data_key(), 2, 3)
    body = store_body(node, keys, dealt, namespace="team", name="db", version=1)
    cases = [
        (None, 401, "anonymous", "no bearer token"),
        (intruder, 403, f"system:serviceaccount:{namespace}:intruder", OPERATOR_IDENTITY),
        (other_node, 401, "anonymous", f"audience {audience}"),
        (apiserver, 401, "anonymous", f"audience {audience}"),
        (doomed, 401, "anonymous", "not accepted"),
    ]
    for token, status, actor, words in cases:
        answer = node.request("PUT", "/v1/shares/team/db/1", token=token, body=body)
        assert answer.status == status, (actor, answer.body)
        assert words in answer.json()["error"]
        entries = ledger_entries(node)
        last = Entry.from_bytes(entries[-1])
        assert (last.kind, last.actor, last.name, last.version) == (
            EntryKind.SHARE_REFUSED,
            actor,
            "db",
            1,
        )
        for secret in (intruder, other_node, apiserver, doomed):
            assert all(secret.encode() not in entry for entry in entries)
            assert secret not in node.log.read_text()
    response, _ = release(node, keys, intruder, namespace="team", name="db", version=1)
    assert response.status == 403
    assert node.request("GET", "/v1/shares/team/db", token=intruder).status == 403


def test_kill_9_during_a_burst_loses_no_acknowledged_share(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    (node,) = share_nodes.start(1)
    keys = public_keys(control_plane, node)
    token = node.operator_token
    dealings = {version: sharing.split(sharing.new_data_key(), 2, 3) for version in range(1, 401)}
    bodies = {
        version: store_body(node, keys, dealt, namespace="burst", name="db", version=version)
        for version, dealt in dealings.items()
    }
    acknowledged: list[int] = []
    lock = threading.Lock()
    versions = iter(sorted(bodies))

    def sender() -> None:
        while True:
            with lock:
                version = next(versions, None)
            if version is None:
                return
            try:
                answer = _store(node, token, version, bodies[version])
            except OSError:
                return  # the node died under us: this store was never acknowledged
            if answer == 200:
                with lock:
                    acknowledged.append(version)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    while True:
        with lock:
            if len(acknowledged) >= 40:
                break
        time.sleep(0.01)
    node.kill()
    for thread in threads:
        thread.join()
    assert 40 <= len(acknowledged) < len(bodies)

    node.start()
    node.wait_ready()
    held = node.request("GET", "/v1/shares/burst/db", token=token).json()
    held_versions = {entry["version"] for entry in held}
    assert set(acknowledged) <= held_versions
    for version in acknowledged:
        response, share = release(node, keys, token, namespace="burst", name="db", version=version)
        assert response.status == 200
        assert share is not None and sharing.verify(share, dealings[version].commitments)
    stored = [Entry.from_bytes(entry) for entry in ledger_entries(node)]
    stored_versions = {entry.version for entry in stored if entry.kind == EntryKind.SHARE_STORED}
    assert stored_versions == held_versions  # never a share without its entry, or the reverse


def _store(node: NodeProcess, token: str, version: int, body: object) -> int:
    return node.request(
        "PUT", f"/v1/shares/burst/db/{version}", token=token, body=body, timeout=10
    ).status
