"""``kuorum agent`` against real share nodes in process, over HTTPS with pinned certificates.

Three nodes (t=2) run the real node app; only TokenReview is faked (it trusts the token's
claims). Shares are dealt by ``kuorum.sealing.seal`` for a delivery-Pod rule and stored
by the operator's own client, as the operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ed25519
from tokenkit import make_token

from kuorum.accessrule import AccessRule
from kuorum.agent.files import DATA
from kuorum.agent.loop import serve
from kuorum.agentconfig import AgentConfig, AgentNode, AgentSecret
from kuorum.envelope import NodeKeys
from kuorum.jwt import token_claims
from kuorum.kube.nodeclient import NodeClient
from kuorum.kube.tokenreview import Review
from kuorum.ledger.cosignature import Cosigner
from kuorum.models import Access, Delivery, Sealed
from kuorum.names import node_audience
from kuorum.node.api import build_app
from kuorum.node.auth import TokenAuthenticator
from kuorum.node.custody import Custody
from kuorum.node.log import NodeLog
from kuorum.node.metrics import NodeMetrics
from kuorum.node.storage import Storage
from kuorum.node.tls import make_certificate
from kuorum.node.witness import WitnessServer
from kuorum.nodeapi import StoreRequest
from kuorum.sealing import Recipient, seal

OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"
WEB = "system:serviceaccount:team:web"
POD_RULE = AccessRule("db", "Opaque", Access(service_accounts=("web",)), None, Delivery.POD)
DEALER = ed25519.Ed25519PrivateKey.generate()
VALUES = {"password": b"s3cret\n", "user": b"admin"}


def token(node: str, subject: str) -> str:
    return make_token(aud=[node_audience(node)], exp=4_000_000_000, sub=subject)


def review(token: str, audience: str) -> Review:
    """TokenReview, faked: the subject is believed (the node itself checks the audience
    claim first); the web account's tokens are bound to its pod."""
    user = (token_claims(token) or {}).get("sub")
    if not isinstance(user, str):
        return Review(False, None, ())
    pod = ("web-0", "11111111-2222-3333-4444-555555555555") if user == WEB else (None, None)
    return Review(True, user, (audience,), *pod)


class ShareNode:
    """One real node app over HTTPS on a loopback port, with its own keys and database."""

    def __init__(self, name: str, directory: Path, *, lying: bool = False) -> None:
        self.name = name
        self.directory = directory
        self.lying = lying
        self.keys = NodeKeys.generate(kem="X25519")
        now = datetime.datetime.now(datetime.UTC)
        self.certificate, key = make_certificate(name, ["127.0.0.1"], now=now)
        directory.mkdir()
        (directory / "tls.crt").write_bytes(self.certificate)
        (directory / "tls.key").write_bytes(key)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._custody: Custody | None = None

    async def start(self) -> None:
        storage = Storage(self.directory / "node.db")
        origin = f"kuorum.io/node/{self.name}"
        log = NodeLog(origin, self.keys.signing, storage.leaf_hashes())
        self._custody = Custody(
            storage, log, self.keys, self.name, unsafe_corrupt_releases=self.lying
        )
        await self._custody.record_start()
        app = build_app(
            custody=self._custody,
            auth=TokenAuthenticator(
                review,
                audience=node_audience(self.name),
                operator_identity=OPERATOR,
                node_identity="system:serviceaccount:kuorum-system:kuorum-node",
                cache_seconds=5,
            ),
            witness=WitnessServer(self._custody, Cosigner(origin, self.keys.signing), self.name),
            metrics_=NodeMetrics(),
            ready=lambda: True,
        )
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.directory / "tls.crt", self.directory / "tls.key")
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=tls).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving: its endpoint now refuses connections."""
        assert self._runner is not None and self._custody is not None
        await self._runner.cleanup()
        self._custody.close()
        self._runner = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    def published(self) -> AgentNode:
        """The node as its ShareNode publishes it, and so as the webhook configures it."""
        return AgentNode(
            self.name,
            f"https://127.0.0.1:{self.port}",
            self.certificate.decode(),
            self.keys.public().signing.public_bytes_raw(),
        )


def sealed_for(nodes: Sequence[ShareNode], version: int, values: Mapping[str, bytes]) -> Sealed:
    """``values`` sealed 2-of-n as ``version`` of team/db, for delivery Pod to team:web."""
    return seal(
        values,
        namespace="team",
        name="db",
        version=version,
        threshold=2,
        recipients=[Recipient(n.name, n.keys.public()) for n in nodes],
        sealer=DEALER,
        rule=POD_RULE.digest(),
    )


async def store(
    nodes: Sequence[ShareNode], sealed: Sealed, *, on: Sequence[str] | None = None
) -> None:
    """Store each node's share of ``sealed`` (only on the nodes named ``on``), as the
    operator does: its own client, its own token, receipts checked."""
    async with aiohttp.ClientSession() as session:
        for node, entry in zip(nodes, sealed.shares, strict=True):
            if on is not None and node.name not in on:
                continue
            body = StoreRequest(
                entry.index,
                2,
                entry.sealed_share,
                sealed.commitments,
                sealed.payload,
                POD_RULE.digest(),
                POD_RULE,
            )
            await operator_client(session, node).store("team", "db", sealed.version, body)


async def deal(nodes: Sequence[ShareNode], version: int, values: Mapping[str, bytes]) -> None:
    await store(nodes, sealed_for(nodes, version, values))


def operator_client(session: aiohttp.ClientSession, node: ShareNode) -> NodeClient:
    async def operator_token() -> str:
        return token(node.name, OPERATOR)

    published = node.published()
    return NodeClient(
        session,
        name=node.name,
        endpoint=published.endpoint,
        certificate=published.certificate,
        signing_key=published.signing_key,
        token=operator_token,
    )


@contextlib.asynccontextmanager
async def share_nodes(
    tmp_path: Path, *, lying: Sequence[str] = ()
) -> AsyncIterator[list[ShareNode]]:
    """node-a, node-b and node-c serving; those named in ``lying`` corrupt their releases."""
    nodes = [ShareNode(n, tmp_path / n, lying=n in lying) for n in ("node-a", "node-b", "node-c")]
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            if node.serving:
                await node.stop()


def agent_config(
    tmp_path: Path, nodes: Sequence[ShareNode], group: int | None = None
) -> AgentConfig:
    """The config the webhook would give the pod's agent, and the pod's tokens, one a node."""
    tokens = tmp_path / "tokens"
    tokens.mkdir(exist_ok=True)
    for node in nodes:
        (tokens / node.name).write_text(token(node.name, WEB) + "\n")
    secret = AgentSecret(
        "team", "db", str(tmp_path / "secrets" / "db"), tuple(n.published() for n in nodes)
    )
    return AgentConfig((secret,), str(tokens), group)


def files(directory: Path) -> dict[str, bytes]:
    """What an application sees: the visible names and their contents."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.startswith(".")}


def agent_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "kuorum.agent")


Prepare = Callable[[list[ShareNode]], Awaitable[None]]


def deliver_once(tmp_path: Path, prepare: Prepare, *, lying: Sequence[str] = ()) -> int:
    """Start the nodes, ``prepare`` them (deal, stop one...), run ``kuorum agent --once``."""

    async def scenario() -> int:
        async with share_nodes(tmp_path, lying=lying) as nodes:
            await prepare(nodes)
            return await serve(agent_config(tmp_path, nodes), once=True, interval=1)

    return asyncio.run(scenario())


def dealt(version: int, values: Mapping[str, bytes]) -> Prepare:
    """Deal ``values`` as ``version`` to every node."""
    return lambda nodes: deal(nodes, version, values)


@pytest.fixture(autouse=True)
def _capture_agent_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kuorum.agent")


def test_the_first_delivery_writes_every_value_as_a_secret_volume_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert deliver_once(tmp_path, dealt(1, VALUES)) == 0
    directory = tmp_path / "secrets" / "db"
    assert files(directory) == VALUES
    current = os.readlink(directory / DATA)
    assert current.startswith("..") and "/" not in current
    assert sorted(os.listdir(directory)) == sorted([DATA, current, "password", "user"])
    for key in VALUES:
        assert os.readlink(directory / key) == f"{DATA}/{key}"
        assert (directory / current / key).stat().st_mode & 0o777 == 0o400
    assert "delivered team/db version 1 from nodes node-a, node-b, node-c" in agent_log(caplog)
    for value in VALUES.values():
        assert value.decode().strip() not in caplog.text


def test_a_lying_node_is_named_and_the_values_are_still_right(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert deliver_once(tmp_path, dealt(1, VALUES), lying=["node-b"]) == 0
    assert files(tmp_path / "secrets" / "db") == VALUES
    log = agent_log(caplog)
    assert "share node node-b: sent a share of version 1 that fails verification" in log
    assert "delivered team/db version 1 from nodes node-a, node-c" in log


def test_fewer_than_t_valid_shares_fail_the_start_and_name_the_nodes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def node_c_down(nodes: list[ShareNode]) -> None:
        await deal(nodes, 1, VALUES)
        await nodes[2].stop()

    assert deliver_once(tmp_path, node_c_down, lying=["node-b"]) == 1
    assert not (tmp_path / "secrets" / "db" / DATA).exists()
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = failure.getMessage()
    assert message.startswith("team/db not delivered: ")
    assert "share node node-b: sent a share of version 1 that fails verification" in message
    assert "share node node-c: GET /v1/deliveries/team/db" in message
    assert "version 1: 1 valid share(s) agree (nodes node-a), 2 needed" in message


def test_a_share_under_other_commitments_is_outvoted_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def other_dealing_on_node_c(nodes: list[ShareNode]) -> None:
        await store(nodes, sealed_for(nodes, 1, VALUES), on=["node-a", "node-b"])
        await store(nodes, sealed_for(nodes, 1, {"password": b"forged"}), on=["node-c"])

    assert deliver_once(tmp_path, other_dealing_on_node_c) == 0
    assert files(tmp_path / "secrets" / "db") == VALUES
    assert (
        "share node node-c: sent a share of version 1 under other commitments than nodes "
        "node-a, node-b" in agent_log(caplog)
    )


def test_the_newest_version_t_nodes_deliver_wins_over_a_newer_one_they_do_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def version_2_on_node_a_only(nodes: list[ShareNode]) -> None:
        await deal(nodes, 1, VALUES)
        await store(nodes, sealed_for(nodes, 2, {"password": b"v2"}), on=["node-a"])

    assert deliver_once(tmp_path, version_2_on_node_a_only) == 0
    assert files(tmp_path / "secrets" / "db") == VALUES
    log = agent_log(caplog)
    assert "version 2: listed by 1 node(s), 2 needed; not asked yet" in log, (
        "a version too few nodes list is not asked for: no release for nothing on a ledger"
    )
    assert "delivered team/db version 1 from nodes node-a, node-b, node-c" in log


async def eventually(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("interval", [0.05, 300], ids=["looking", "long-polling"])
def test_a_newer_version_is_swapped_in_at_the_same_paths_until_sigterm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, interval: float
) -> None:
    """Looking every interval, or (an interval of a second or more) held in one long poll
    per node that a store ends: the files follow the store, not the 300 s."""
    directory = tmp_path / "secrets" / "db"
    password = directory / "password"

    async def scenario() -> int:
        async with share_nodes(tmp_path) as nodes:
            await deal(nodes, 1, VALUES)
            agent = asyncio.create_task(
                serve(agent_config(tmp_path, nodes), once=False, interval=interval)
            )
            await eventually(lambda: (directory / DATA).exists(), "the first delivery")
            first = os.readlink(directory / DATA)
            v2 = sealed_for(nodes, 2, {"password": b"rotated"})
            await store(nodes, v2, on=["node-a"])  # one share of t: not yet deliverable
            await eventually(lambda: "version 2: listed by 1 node(s)" in caplog.text, "a try")
            assert password.read_bytes() == VALUES["password"], "the files keep version 1"
            await store(nodes, v2, on=["node-b", "node-c"])
            await eventually(lambda: password.read_bytes() == b"rotated", "version 2")
            assert not (directory / first).exists(), "the old version's files are removed"
            assert not (directory / "user").exists(), "a key gone from the secret is gone"
            os.kill(os.getpid(), signal.SIGTERM)  # as the kubelet stops the pod
            return await agent

    assert asyncio.run(scenario()) == 0
    assert files(directory) == {"password": b"rotated"}
    log = agent_log(caplog)
    assert "team/db: no newer version delivered, files keep 1: version 2: listed by 1" in log
    # node-b and node-c store one after the other: looking in between finds t of them
    assert "delivered team/db version 2 from nodes node-a, node-b" in log


def test_a_key_that_is_no_safe_file_name_fails_the_delivery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert deliver_once(tmp_path, dealt(1, {"../escape": b"x", "fine": b"y"})) == 1
    assert not (tmp_path / "secrets" / "db" / DATA).exists()
    assert not (tmp_path / "secrets" / "escape").exists()
    assert "version 1 not written: key '../escape' is not a safe file name" in agent_log(caplog)
