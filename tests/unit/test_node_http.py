"""The node's HTTP API in process: store/release/destroy, idempotence, refusals, ledger.

The TokenReview call is replaced by a table (our own ``Reviewer`` interface); the
Kubernetes API itself is exercised by the integration tests with real node processes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import ed25519
from tokenkit import make_token

from kuorum import sharing
from kuorum.accessrule import AccessRule
from kuorum.envelope import (
    EncryptionPrivateKey,
    NodeKeys,
    SealedShare,
    ShareContext,
    open_share,
    seal_share,
)
from kuorum.kube.tokenreview import Review
from kuorum.ledger import (
    Checkpoint,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    Entry,
    EntryKind,
    leaf_hash,
    open_checkpoint,
    root,
    sign_checkpoint,
    verify_consistency,
)
from kuorum.ledger.cosignature import Cosigner
from kuorum.ledger.witness import add_checkpoint_request
from kuorum.models import Access, Delivery
from kuorum.names import node_audience
from kuorum.node.api import build_app
from kuorum.node.auth import TokenAuthenticator
from kuorum.node.custody import Custody
from kuorum.node.limits import RefusalBudget
from kuorum.node.log import NodeLog
from kuorum.node.metrics import NodeMetrics
from kuorum.node.storage import Storage
from kuorum.node.witness import WitnessServer
from kuorum.receipts import Receipt

OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"
NODE_IDENTITY = "system:serviceaccount:kuorum-system:kuorum-node"
INTRUDER = "system:serviceaccount:default:intruder"
NODE = "node-a"
ORIGIN = f"kuorum.io/node/{NODE}"
AUDIENCE = node_audience(NODE)
OPERATOR_TOKEN = make_token(aud=[AUDIENCE], exp=4_000_000_000)
INTRUDER_TOKEN = make_token(aud=[AUDIENCE], exp=4_000_000_000, sub="intruder")
PEER_TOKEN = make_token(aud=[AUDIENCE], exp=4_000_000_000, sub="node-b")
TOKENS = {OPERATOR_TOKEN: OPERATOR, INTRUDER_TOKEN: INTRUDER, PEER_TOKEN: NODE_IDENTITY}
WEB_TOKEN = make_token(aud=[AUDIENCE], exp=4_000_000_000, sub="web")
OTHER_TOKEN = make_token(aud=[AUDIENCE], exp=4_000_000_000, sub="other")
WEB = "system:serviceaccount:team:web"
WEB_UID = "11111111-2222-3333-4444-555555555555"
TOKENS |= {WEB_TOKEN: WEB, OTHER_TOKEN: "system:serviceaccount:team:other"}
PODS = {PEER_TOKEN: "node-b", WEB_TOKEN: "web-0", OTHER_TOKEN: "other-0"}
POD_UIDS = {WEB_TOKEN: WEB_UID, OTHER_TOKEN: "66666666-7777-8888-9999-000000000000"}
DEALER = ed25519.Ed25519PrivateKey.generate()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def review(token: str, audience: str) -> Review:
    user = TOKENS.get(token)
    audiences = (audience,) if user else ()
    return Review(user is not None, user, audiences, PODS.get(token), POD_UIDS.get(token))


class Node:
    """One node's app on a test server, rebuilt on the same data directory at will."""

    def __init__(self, directory: Path, budget: RefusalBudget | None = None) -> None:
        self.directory = directory
        self.budget = budget
        self.keys = NodeKeys.generate(kem="X25519")
        self.client: TestClient[Any, Any] | None = None
        self.custody: Custody | None = None

    async def start(self) -> TestClient[Any, Any]:
        storage = Storage(self.directory / "node.db")
        log = NodeLog(ORIGIN, self.keys.signing, storage.leaf_hashes())
        self.custody = Custody(storage, log, self.keys, NODE, anonymous_refusals=self.budget)
        await self.custody.record_start()
        app = build_app(
            custody=self.custody,
            auth=TokenAuthenticator(
                review,
                audience=AUDIENCE,
                operator_identity=OPERATOR,
                node_identity=NODE_IDENTITY,
                cache_seconds=5,
            ),
            witness=WitnessServer(self.custody, Cosigner(ORIGIN, self.keys.signing), NODE),
            metrics_=NodeMetrics(),
            ready=lambda: True,
        )
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        return self.client

    async def stop(self) -> None:
        assert self.client is not None and self.custody is not None
        await self.client.close()
        self.custody.close()


def run_with_node(
    tmp_path: Path,
    test: Callable[[Node, TestClient[Any, Any]], Awaitable[None]],
    budget: RefusalBudget | None = None,
) -> None:
    async def main() -> None:
        node = Node(tmp_path, budget)
        client = await node.start()
        try:
            await test(node, client)
        finally:
            await node.stop()

    asyncio.run(main())


def dealing(
    node: Node,
    version: int = 1,
    *,
    threshold: int = 2,
    shares: int = 3,
    access_rule: AccessRule | None = None,
) -> tuple[sharing.Dealing, dict[str, Any]]:
    """A fresh dealing and the store body of share 1 for ``node`` (bound to ``access_rule``)."""
    dealt = sharing.split(sharing.new_data_key(), threshold, shares)
    rule = access_rule.digest() if access_rule else b""
    context = ShareContext("team", "db", version, 1, NODE, "store", rule)
    sealed = seal_share(
        dealt.shares[0], recipient=node.keys.public().encryption, context=context, sender=DEALER
    )
    return dealt, {
        "index": 1,
        "threshold": threshold,
        "sealedShare": b64(sealed.to_bytes()),
        "commitments": b64(dealt.commitments.to_bytes()),
        "payload": b64(b"ciphertext"),
        **({"rule": b64(rule), "accessRule": access_rule.to_json()} if access_rule else {}),
    }


OPERATOR_AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def test_store_release_destroy_round_trip(tmp_path: Path) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        dealt, body = dealing(node)
        stored = await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        assert stored.status == 200, await stored.text()
        answer = await stored.json()
        receipt = answer["receipt"]
        assert (receipt["node"], receipt["version"], receipt["index"]) == (NODE, 1, 1)
        Receipt.from_dict(receipt).verify(
            base64.b64decode(answer["signature"]), node.keys.public().signing
        )
        assert receipt["commitmentsSha256"] == dealt.commitments.digest()

        again = await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        assert await again.json() == answer

        held = await (await client.get("/v1/shares/team/db", headers=OPERATOR_AUTH)).json()
        assert [(h["version"], h["index"]) for h in held] == [(1, 1)]
        assert "sealedShare" not in held[0]

        ephemeral = EncryptionPrivateKey.generate(kem="MLKEM768_X25519")
        released = await client.post(
            "/v1/shares/team/db/1/release",
            headers=OPERATOR_AUTH,
            json={
                "recipientKey": b64(ephemeral.public_key().to_bytes()),
                "kem": "MLKEM768_X25519",
                "reason": "materialize team/db",
            },
        )
        assert released.status == 200, await released.text()
        share_answer = await released.json()
        share = open_share(
            SealedShare.from_bytes(base64.b64decode(share_answer["sealedShare"])),
            recipient=ephemeral,
            context=ShareContext("team", "db", 1, 1, OPERATOR, "release"),
            sender=node.keys.public().signing,
        )
        assert share == dealt.shares[0]
        assert base64.b64decode(share_answer["commitments"]) == dealt.commitments.to_bytes()

        destroyed = await client.delete("/v1/shares/team/db", headers=OPERATOR_AUTH)
        assert await destroyed.json() == {"destroyed": [1]}
        gone = await client.post(
            "/v1/shares/team/db/1/release",
            headers=OPERATOR_AUTH,
            json={
                "recipientKey": b64(ephemeral.public_key().to_bytes()),
                "kem": "MLKEM768_X25519",
                "reason": "again",
            },
        )
        assert gone.status == 404

        kinds = [Entry.from_bytes(e).kind for e in await ledger_entries(client)]
        assert kinds == [
            EntryKind.KEY_CREATED,
            EntryKind.NODE_STARTED,
            EntryKind.SHARE_STORED,
            EntryKind.SHARE_RELEASED,
            EntryKind.SHARE_DESTROYED,
        ]

    run_with_node(tmp_path, test)


def test_a_rule_bound_share_is_stored_under_its_rule_and_released_with_it(
    tmp_path: Path,
) -> None:
    access_rule = AccessRule("db", "Opaque", Access(namespaces=("web",)), None)
    rule = access_rule.digest()

    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        dealt, body = dealing(node, access_rule=access_rule)
        unbound = {k: v for k, v in body.items() if k not in ("rule", "accessRule")}
        refused = await client.put("/v1/shares/team/db/1", json=unbound, headers=OPERATOR_AUTH)
        assert refused.status == 400, "a share sealed with a rule does not open without it"
        assert "does not open with the key of node" in await refused.text()
        other = AccessRule("db", "Opaque", Access(namespaces=("evil",)), None)
        lying = body | {"accessRule": other.to_json()}
        refused = await client.put("/v1/shares/team/db/1", json=lying, headers=OPERATOR_AUTH)
        assert refused.status == 400, "a rule that is not the one sealed is refused"
        assert "does not match the rule digest" in await refused.text()
        stored = await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        assert stored.status == 200, await stored.text()
        ephemeral = EncryptionPrivateKey.generate(kem="X25519")
        released = await client.post(
            "/v1/shares/team/db/1/release",
            headers=OPERATOR_AUTH,
            json={
                "recipientKey": b64(ephemeral.public_key().to_bytes()),
                "kem": "X25519",
                "reason": "materialize team/db",
            },
        )
        answer = await released.json()
        assert base64.b64decode(answer["rule"]) == rule
        share = open_share(
            SealedShare.from_bytes(base64.b64decode(answer["sealedShare"])),
            recipient=ephemeral,
            context=ShareContext("team", "db", 1, 1, OPERATOR, "release", rule),
            sender=node.keys.public().signing,
        )
        assert share == dealt.shares[0]
        stored_entry = Entry.from_bytes((await ledger_entries(client))[-2])
        assert f"bound to access rule {rule.hex()[:16]}" in stored_entry.reason

    run_with_node(tmp_path, test)


async def ledger_entries(client: TestClient[Any, Any]) -> list[bytes]:
    note = await (await client.get("/v1/ledger/checkpoint")).read()
    size = int(note.split(b"\n")[1])
    page = await (await client.get(f"/v1/ledger/entries?start=0&end={size}")).json()
    return [base64.b64decode(e) for e in page["entries"]]


def test_a_different_share_for_a_held_slot_is_a_409_and_logged(tmp_path: Path) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        _, first = dealing(node)
        _, second = dealing(node)
        assert (
            await client.put("/v1/shares/team/db/1", json=first, headers=OPERATOR_AUTH)
        ).status == 200
        conflict = await client.put("/v1/shares/team/db/1", json=second, headers=OPERATOR_AUTH)
        assert conflict.status == 409
        assert "team/db version 1" in (await conflict.json())["error"]
        last = Entry.from_bytes((await ledger_entries(client))[-1])
        assert last.kind == EntryKind.SHARE_REFUSED and last.actor == OPERATOR

    run_with_node(tmp_path, test)


def test_a_share_that_fails_its_commitments_is_refused(tmp_path: Path) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        _, body = dealing(node)
        other, _ = dealing(node)
        body["commitments"] = b64(other.commitments.to_bytes())
        refused = await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        assert refused.status == 400
        assert "commitments" in (await refused.json())["error"]
        held = await (await client.get("/v1/shares/team/db", headers=OPERATOR_AUTH)).json()
        assert held == []

    run_with_node(tmp_path, test)


@pytest.mark.parametrize(
    ("headers", "status", "actor"),
    [
        ({}, 401, "anonymous"),
        ({"Authorization": "Bearer nonsense"}, 401, "anonymous"),
        ({"Authorization": f"Bearer {INTRUDER_TOKEN}"}, 403, INTRUDER),
    ],
    ids=["no-token", "unknown-token", "not-the-operator"],
)
def test_refusals_are_answered_and_logged_without_the_token(
    tmp_path: Path, headers: dict[str, str], status: int, actor: str
) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        _, body = dealing(node)
        refused = await client.put("/v1/shares/team/db/1", json=body, headers=headers)
        assert refused.status == status
        assert (await refused.json())["error"]
        raw = (await ledger_entries(client))[-1]
        entry = Entry.from_bytes(raw)
        assert (entry.kind, entry.actor, entry.version) == (EntryKind.SHARE_REFUSED, actor, 1)
        assert INTRUDER_TOKEN.encode() not in raw and b"nonsense" not in raw
        metrics = await (await client.get("/metrics")).text()
        assert "kuorum_node_refusals_total" in metrics

    run_with_node(tmp_path, test)


def test_checkpoint_is_signed_and_survives_a_restart(tmp_path: Path) -> None:
    async def main() -> None:
        node = Node(tmp_path)
        client = await node.start()
        _, body = dealing(node)
        await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        before = await (await client.get("/v1/ledger/checkpoint")).read()
        entries = await ledger_entries(client)
        await node.stop()
        client = await node.start()
        try:
            verifier = Ed25519NoteVerifier(ORIGIN, node.keys.public().signing)
            checkpoint, _ = open_checkpoint(before, verifier)
            assert checkpoint.root_hash == root([leaf_hash(e) for e in entries])
            after, _ = open_checkpoint(
                await (await client.get("/v1/ledger/checkpoint")).read(), verifier
            )
            assert after.size == checkpoint.size + 1  # node.started once more
            proof = await (
                await client.get(
                    f"/v1/ledger/proof/consistency?old={checkpoint.size}&new={after.size}"
                )
            ).json()
            verify_consistency(
                checkpoint.size,
                after.size,
                checkpoint.root_hash,
                after.root_hash,
                [base64.b64decode(p) for p in proof["proof"]],
            )
            held = await (await client.get("/v1/shares/team/db", headers=OPERATOR_AUTH)).json()
            assert [h["version"] for h in held] == [1]
        finally:
            await node.stop()

    asyncio.run(main())


def test_a_flood_of_anonymous_requests_cannot_fill_the_ledger(tmp_path: Path) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        for _ in range(60):
            assert (await client.get("/v1/shares/team/db")).status == 401
        refusals = [
            entry
            for entry in map(Entry.from_bytes, await ledger_entries(client))
            if entry.kind == EntryKind.SHARE_REFUSED
        ]
        assert len(refusals) == 5  # the burst; this budget never refills
        metrics = await (await client.get("/metrics")).text()
        assert 'kuorum_node_refusals_total{reason="missing-credentials"} 60.0' in metrics

    run_with_node(tmp_path, test, RefusalBudget(rate=0, burst=5))


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "no bearer token"),
        ({"Authorization": f"Bearer {OPERATOR_TOKEN}"}, 403, "only a share node may"),
        ({"Authorization": f"Bearer {PEER_TOKEN}"}, 404, "unknown log origin"),
    ],
    ids=["anonymous", "not-a-node", "another-nodes-log"],
)
def test_only_a_peers_pod_submits_and_only_its_own_checkpoint(
    tmp_path: Path, headers: dict[str, str], status: int, words: str
) -> None:
    """Node b's pod may submit b's checkpoints only: a checkpoint of node c is refused as
    a log it does not know for that caller, whatever its signature."""
    other = Ed25519NoteSigner("kuorum.io/node/node-c", ed25519.Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint("kuorum.io/node/node-c", 1, bytes(32)), other)
    body = add_checkpoint_request(0, [], note)

    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        answer = await client.post("/v1/ledger/add-checkpoint", data=body, headers=headers)
        assert answer.status == status
        assert words in await answer.text()

    run_with_node(tmp_path, test)


POD_RULE = AccessRule("db", "Opaque", Access(service_accounts=("web",)), None, Delivery.POD)


def _release_body(ephemeral: EncryptionPrivateKey) -> dict[str, str]:
    public = ephemeral.public_key()
    return {"recipientKey": b64(public.to_bytes()), "kem": public.kem, "reason": "deliver"}


def test_a_pod_delivery_share_goes_to_the_pods_its_rule_allows_and_never_to_the_operator(
    tmp_path: Path,
) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        dealt, body = dealing(node, access_rule=POD_RULE)
        stored = await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        assert stored.status == 200, await stored.text()
        ephemeral = EncryptionPrivateKey.generate(kem="X25519")

        refused = await client.post(
            "/v1/shares/team/db/1/release", headers=OPERATOR_AUTH, json=_release_body(ephemeral)
        )
        assert refused.status == 403, "the operator may not collect a delivery-Pod share"
        assert "delivery Pod" in await refused.text()

        web = {"Authorization": f"Bearer {WEB_TOKEN}"}
        listed = await client.get("/v1/deliveries/team/db", headers=web)
        assert (await listed.json()) == {"versions": [{"version": 1, "threshold": 2}]}
        delivered = await client.post(
            "/v1/deliveries/team/db/1", headers=web, json=_release_body(ephemeral)
        )
        assert delivered.status == 200, await delivered.text()
        answer = await delivered.json()
        share = open_share(
            SealedShare.from_bytes(base64.b64decode(answer["sealedShare"])),
            recipient=ephemeral,
            context=ShareContext("team", "db", 1, 1, WEB, "release", POD_RULE.digest()),
            sender=node.keys.public().signing,
        )
        assert share == dealt.shares[0]

        entries = [Entry.from_bytes(e) for e in await ledger_entries(client)]
        operator_refusal, release = entries[-2], entries[-1]
        assert operator_refusal.kind == EntryKind.SHARE_REFUSED
        assert operator_refusal.actor == OPERATOR
        assert release.kind == EntryKind.SHARE_RELEASED
        assert (release.actor, release.pod, release.pod_uid) == (WEB, "team/web-0", WEB_UID)
        assert (release.namespace, release.name, release.version) == ("team", "db", 1)

    run_with_node(tmp_path, test)


def test_a_pod_the_rule_does_not_allow_is_refused_by_the_node_itself_and_logged(
    tmp_path: Path,
) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        _, body = dealing(node, access_rule=POD_RULE)
        await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        _, unbound = dealing(node, 2)  # delivery Secret: never to a pod
        await client.put("/v1/shares/team/db/2", json=unbound, headers=OPERATOR_AUTH)
        ephemeral = EncryptionPrivateKey.generate(kem="X25519")
        other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
        listed = await client.get("/v1/deliveries/team/db", headers=other)
        assert listed.status == 403
        delivered = await client.post(
            "/v1/deliveries/team/db/1", headers=other, json=_release_body(ephemeral)
        )
        assert delivered.status == 403
        assert "team:other is not in spec.access.serviceAccounts" in await delivered.text()
        web = {"Authorization": f"Bearer {WEB_TOKEN}"}
        secret_mode = await client.post(
            "/v1/deliveries/team/db/2", headers=web, json=_release_body(ephemeral)
        )
        assert secret_mode.status == 403, "a delivery-Secret version never goes to a pod"
        listed = await (await client.get("/v1/deliveries/team/db", headers=web)).json()
        assert listed == {"versions": [{"version": 1, "threshold": 2}]}
        not_a_pod = await client.get("/v1/deliveries/team/db", headers=OPERATOR_AUTH)
        assert not_a_pod.status == 403, "a token bound to no pod gets nothing"

        entries = [Entry.from_bytes(e) for e in await ledger_entries(client)]
        refusals = [e for e in entries if e.kind == EntryKind.SHARE_REFUSED]
        assert [(e.pod, e.version) for e in refusals] == [
            ("team/other-0", None),
            ("team/other-0", 1),
            ("team/web-0", 2),
            (None, None),
        ]
        assert not [e for e in entries if e.kind == EntryKind.SHARE_RELEASED]

    run_with_node(tmp_path, test)


def test_a_delivery_listing_can_wait_for_a_newer_version_and_a_store_ends_the_wait(
    tmp_path: Path,
) -> None:
    async def test(node: Node, client: TestClient[Any, Any]) -> None:
        _, body = dealing(node, access_rule=POD_RULE)
        await client.put("/v1/shares/team/db/1", json=body, headers=OPERATOR_AUTH)
        web = {"Authorization": f"Bearer {WEB_TOKEN}"}
        waiting = asyncio.create_task(
            client.get("/v1/deliveries/team/db?after=1&wait=300", headers=web)
        )
        await asyncio.sleep(0.2)
        assert not waiting.done(), "nothing newer than version 1 yet: the listing waits"
        _, newer = dealing(node, 2, access_rule=POD_RULE)
        await client.put("/v1/shares/team/db/2", json=newer, headers=OPERATOR_AUTH)
        answer = await asyncio.wait_for(waiting, 10)  # woken by the store, not the 300 s
        listed = [v["version"] for v in (await answer.json())["versions"]]
        assert listed == [1, 2]
        now = await client.get("/v1/deliveries/team/db?after=1&wait=300", headers=web)
        assert [v["version"] for v in (await now.json())["versions"]] == [1, 2]

    run_with_node(tmp_path, test)
