"""Real share-node processes for integration tests (reused by the operator's tests).

The ``share_nodes`` fixture (``share_nodes.start(3)``) starts three ``kuorum node``
processes on free loopback ports, each with its own data directory, running as the
``kuorum-system/kuorum-node`` ServiceAccount (granted the chart's node RBAC) and
trusting ``kuorum-system/kuorum-operator`` as the operator. It waits for ``/readyz``.
Nodes can be killed with SIGKILL and restarted on the same data directory and port.
Teardown stops every process and deletes the ShareNodes, also when a test fails.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client

from kuorum import names, sharing
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import Supervisor, free_port, wait_until
from kuorum.devenv.stack import (
    OPERATOR_IDENTITY,
    node_argv,
    node_kubeconfig,
    write_peer_tokens,
)
from kuorum.envelope import (
    EncryptionPrivateKey,
    NodePublicKeys,
    SealedShare,
    ShareContext,
    open_share,
    seal_share,
)
from kuorum.kube.pinned import pinned_context

READY_TIMEOUT = 60.0
DEALER = ed25519.Ed25519PrivateKey.generate()
"""Signs what the tests seal, standing in for the operator's dealing key."""


@dataclass
class Response:
    """What a node answered: status, raw body, and the body parsed as JSON when it is."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class NodeProcess:
    """One share node: its flags, data directory and process under the supervisor."""

    name: str
    port: int
    data_dir: Path
    argv: list[str]
    supervisor: Supervisor
    operator_token: str = field(repr=False)
    """The operator's token for this node's audience (no other node accepts it)."""
    host: str = "127.0.0.1"
    """Where it listens: loopback, or a real node's bridge address (pods reach it)."""

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def database(self) -> Path:
        return self.data_dir / "node.db"

    @property
    def log(self) -> Path:
        return self.supervisor.log_path(self.name)

    def tls_certificate(self) -> str:
        """The node's self-signed certificate (what its ShareNode publishes)."""
        return (self.data_dir / "tls.crt").read_text()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: object = None,
        raw: bytes | None = None,
        timeout: float = 30.0,
    ) -> Response:
        """One HTTPS request, with TLS pinned to the node's certificate."""
        connection = http.client.HTTPSConnection(
            self.host, self.port, context=pinned_context(self.tls_certificate()), timeout=timeout
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, answer.read())
        finally:
            connection.close()

    def start(self) -> None:
        self.supervisor.start(self.name, self.argv)

    def ready(self) -> bool:
        if not self.supervisor.running(self.name):
            raise RuntimeError(
                f"node {self.name} exited; log {self.log}:\n"
                + self.log.read_text(errors="replace")[-3000:]
            )
        try:
            return self.request("GET", "/readyz", timeout=2).status == 200
        except (OSError, http.client.HTTPException):
            return False

    def wait_ready(self) -> None:
        wait_until(
            self.ready,
            timeout=READY_TIMEOUT,
            what=f"share node {self.name}",
            interval=0.2,
            log=self.log,
        )

    def kill(self) -> None:
        """SIGKILL, no goodbye: what a crash or an OOM kill looks like."""
        self.supervisor.stop(self.name, kill=True)

    def stop(self) -> None:
        self.supervisor.stop(self.name, timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()


@dataclass
class ShareNodes:
    """Nodes started by one test, plus tokens to talk to them."""

    control_plane: ControlPlane
    directory: Path
    nodes: list[NodeProcess] = field(default_factory=list)

    def start(
        self,
        count: int,
        *,
        prefix: str = "node",
        extra: list[str] | None = None,
    ) -> list[NodeProcess]:
        """Start ``count`` more nodes and wait until each answers ``/readyz``."""
        supervisor = Supervisor(self.directory, tie_to_parent=True)
        started = []
        fresh = [f"{prefix}-{len(self.nodes) + i}" for i in range(count)]
        tokens = self.directory / "peer-tokens"
        write_peer_tokens(self.control_plane, [n.name for n in self.nodes] + fresh, tokens)
        for name in fresh:
            port = free_port()
            data_dir = self.directory / name
            argv = node_argv(
                name,
                data_dir=data_dir,
                port=port,
                zone=f"zone-{len(self.nodes) % 3}",
                kubeconfig=node_kubeconfig(self.control_plane, name),
                peer_tokens=tokens / name,
                extra=["--witness-interval", "1", "--heartbeat-interval", "5", *(extra or [])],
                host=self.control_plane.ports.address,
            )
            node = NodeProcess(
                name,
                port,
                data_dir,
                argv,
                supervisor,
                self.operator_token(name),
                host=self.control_plane.ports.address,
            )
            node.start()
            self.nodes.append(node)
            started.append(node)
        for node in started:
            node.wait_ready()
        return started

    def operator_token(self, node: str) -> str:
        """A token of the operator identity for the audience of the node named ``node``."""
        return self.control_plane.token(
            names.SYSTEM_NAMESPACE,
            names.OPERATOR_ACCOUNT,
            audience=names.node_audience(node),
            seconds=3600,
        )

    def close(self) -> None:
        """Stop and deregister the nodes, and drop the operator's pins of them: the next
        test's nodes reuse the names with new keys (an administrator's re-key)."""
        try:
            client.CoreV1Api(self.control_plane.api_client()).delete_namespaced_config_map(
                names.NODE_PINS_CONFIGMAP, names.SYSTEM_NAMESPACE
            )
        except client.ApiException as error:
            if error.status != 404:
                raise
        custom = client.CustomObjectsApi(self.control_plane.api_client())
        for node in self.nodes:
            node.stop()
            try:
                custom.delete_cluster_custom_object(
                    names.GROUP, names.VERSION, names.NODE_PLURAL, node.name
                )
            except client.ApiException as error:
                if error.status != 404:
                    raise


@pytest.fixture(name="share_nodes")
def share_nodes_fixture(control_plane: ControlPlane, tmp_path: Path) -> Iterator[ShareNodes]:
    """``share_nodes.start(n)`` starts n nodes; all are stopped and deregistered after.

    Use it from a test module with ``from nodes import share_nodes_fixture  # noqa: F401``
    and a parameter ``share_nodes: ShareNodes``.
    """
    install.grant_component(control_plane.api_client(), "node")
    nodes = ShareNodes(control_plane, tmp_path / "nodes")
    try:
        yield nodes
    finally:
        nodes.close()


def public_keys(control_plane: ControlPlane, node: NodeProcess) -> NodePublicKeys:
    """The keys a node registered in its ShareNode (what the operator pins)."""
    spec = client.CustomObjectsApi(control_plane.api_client()).get_cluster_custom_object(
        names.GROUP, names.VERSION, names.NODE_PLURAL, node.name
    )["spec"]
    return NodePublicKeys.from_dict(spec)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def store_body(
    node: NodeProcess,
    keys: NodePublicKeys,
    dealt: sharing.Dealing,
    *,
    namespace: str,
    name: str,
    version: int,
    index: int = 1,
    payload: bytes = b"payload",
) -> dict[str, Any]:
    """The body of ``PUT /v1/shares/...`` for share ``index`` of ``dealt``, sealed to ``node``."""
    context = ShareContext(namespace, name, version, index, node.name, "store")
    sealed = seal_share(
        dealt.shares[index - 1], recipient=keys.encryption, context=context, sender=DEALER
    )
    return {
        "index": index,
        "threshold": dealt.commitments.threshold,
        "sealedShare": b64(sealed.to_bytes()),
        "commitments": b64(dealt.commitments.to_bytes()),
        "payload": b64(payload),
    }


def release(
    node: NodeProcess, keys: NodePublicKeys, token: str, *, namespace: str, name: str, version: int
) -> tuple[Response, sharing.Share | None]:
    """Release a share to a fresh ephemeral key and open it as the operator would.

    The node's signature is checked with its registered key ``keys``.
    """
    ephemeral = EncryptionPrivateKey.generate()
    response = node.request(
        "POST",
        f"/v1/shares/{namespace}/{name}/{version}/release",
        token=token,
        body={
            "recipientKey": b64(ephemeral.public_key().to_bytes()),
            "kem": ephemeral.kem,
            "reason": "integration test",
        },
    )
    if response.status != 200:
        return response, None
    answer = response.json()
    context = ShareContext(namespace, name, version, answer["index"], OPERATOR_IDENTITY, "release")
    share = open_share(
        SealedShare.from_bytes(base64.b64decode(answer["sealedShare"])),
        recipient=ephemeral,
        context=context,
        sender=keys.signing,
    )
    return response, share


def ledger_entries(node: NodeProcess) -> list[bytes]:
    """Every entry the node serves, as raw canonical bytes."""
    checkpoint = node.request("GET", "/v1/ledger/checkpoint").body
    size = int(checkpoint.split(b"\n")[1])
    entries: list[bytes] = []
    while len(entries) < size:
        page = node.request("GET", f"/v1/ledger/entries?start={len(entries)}&end={size}").json()
        entries += [base64.b64decode(entry) for entry in page["entries"]]
    return entries
