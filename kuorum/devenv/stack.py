"""Kuorum's components on a local control plane: share nodes, operator, webhook.

Used by ``kuorum dev``. Each component runs as a local process under the control
plane's supervisor (so ``dev down`` stops it too), as its own ServiceAccount with the
chart's RBAC rules, and on a loopback port recorded in ``STATE_DIR/stack.json`` so a
node stopped for a fault drill comes back on the same endpoint and data directory.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kuorum import names
from kuorum.devenv import install
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import free_port, wait_until
from kuorum.errors import UserError
from kuorum.files import write_private
from kuorum.kube.pinned import pinned_context

READY_TIMEOUT = 60.0
ZONES = ("zone-a", "zone-b", "zone-c")
OPERATOR_IDENTITY = names.OPERATOR_USER


@dataclass
class NodeSlot:
    """Where one share node lives: its loopback port and zone."""

    port: int
    zone: str


@dataclass
class StackState:
    """What ``stack.json`` keeps between ``dev`` commands."""

    nodes: dict[str, NodeSlot] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> StackState:
        path = state_dir / "stack.json"
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls({name: NodeSlot(**slot) for name, slot in data["nodes"].items()})

    def save(self, state_dir: Path) -> None:
        (state_dir / "stack.json").write_text(json.dumps(asdict(self), indent=2))


def node_name(index: int) -> str:
    """Name of the i-th dev node (as the chart's StatefulSet names its pods)."""
    return f"kuorum-node-{index}"


def start_nodes(plane: ControlPlane, count: int) -> list[str]:
    """Grant the node identity and start ``count`` share nodes; wait until all are ready."""
    install.grant_component(plane.api_client(), "node")
    state = StackState.load(plane.state_dir)
    for index in range(count):
        name = node_name(index)
        state.nodes.setdefault(name, NodeSlot(free_port(), ZONES[index % len(ZONES)]))
    state.save(plane.state_dir)
    write_peer_tokens(plane, list(state.nodes), plane.state_dir / "peer-tokens")
    for name in state.nodes:
        _launch_node(plane, name, state.nodes[name])
    for name in state.nodes:
        _wait_node(plane, name, state.nodes[name])
    return list(state.nodes)


def start_node(plane: ControlPlane, name: str) -> None:
    """Start (again) one node of the stack on its own port and data directory."""
    slot = _slot(plane, name)
    _launch_node(plane, name, slot)
    _wait_node(plane, name, slot)


def stop_node(plane: ControlPlane, name: str) -> bool:
    """Kill one node with SIGKILL, as a crash would; its data directory stays."""
    _slot(plane, name)
    return plane.supervisor.stop(name, kill=True)


def _slot(plane: ControlPlane, name: str) -> NodeSlot:
    state = StackState.load(plane.state_dir)
    if name not in state.nodes:
        known = ", ".join(state.nodes) or "none"
        raise UserError(f"no share node {name!r} in {plane.state_dir} (nodes: {known})")
    return state.nodes[name]


def node_argv(
    name: str,
    *,
    data_dir: Path,
    port: int,
    zone: str,
    kubeconfig: Path,
    peer_tokens: Path,
    extra: Sequence[str] = (),
    host: str = "127.0.0.1",
) -> list[str]:
    """The command line of one share node on ``host`` (loopback, or the local node's
    bridge address so pods reach it too), for the dev stack and tests."""
    return [
        sys.executable,
        "-m",
        "kuorum",
        "node",
        "--name",
        name,
        "--data-dir",
        str(data_dir),
        "--listen",
        f"{host}:{port}",
        "--tls-san",
        host,
        "--zone",
        zone,
        "--kubeconfig",
        str(kubeconfig),
        "--operator-identity",
        OPERATOR_IDENTITY,
        "--peer-tokens",
        str(peer_tokens),
        *extra,
    ]


def write_peer_tokens(plane: ControlPlane, nodes: Sequence[str], directory: Path) -> None:
    """Give each node, in ``directory/<node>/<peer>``, a token of its stand-in pod for each
    peer's audience, as the chart projects them into a node pod (24 h here)."""
    for name in nodes:
        tokens = directory / name
        tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
        for peer in nodes:
            if peer != name and not (tokens / peer).exists():
                token = plane.token(
                    names.SYSTEM_NAMESPACE,
                    names.NODE_ACCOUNT,
                    audience=names.node_audience(peer),
                    seconds=24 * 3600,
                    pod=name,
                )
                write_private(tokens / peer, token.encode())


def node_kubeconfig(plane: ControlPlane, name: str) -> Path:
    """The node's credentials for the apiserver: a token bound to a stand-in Pod named
    after the node, as a kubelet binds the chart's node pods' tokens (one node, one pod)."""
    return plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.NODE_ACCOUNT, pod=name)


def _launch_node(plane: ControlPlane, name: str, slot: NodeSlot) -> None:
    data_dir = plane.state_dir / "nodes" / name
    plane.supervisor.start(
        name,
        node_argv(
            name,
            data_dir=data_dir,
            port=slot.port,
            zone=slot.zone,
            kubeconfig=node_kubeconfig(plane, name),
            peer_tokens=plane.state_dir / "peer-tokens" / name,
            host=plane.ports.address,
        ),
    )


def _wait_node(plane: ControlPlane, name: str, slot: NodeSlot) -> None:
    certificate = plane.state_dir / "nodes" / name / "tls.crt"

    def ready() -> bool:
        if not plane.supervisor.running(name):
            raise UserError(f"share node {name} exited; see {plane.supervisor.log_path(name)}")
        if not certificate.exists():
            return False
        url = f"https://{plane.ports.address}:{slot.port}/readyz"
        try:
            context = pinned_context(certificate.read_text())
            with urllib.request.urlopen(url, timeout=2, context=context) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    wait_until(
        ready,
        timeout=READY_TIMEOUT,
        what=f"share node {name}",
        interval=0.2,
        log=plane.supervisor.log_path(name),
    )


def start_webhook(plane: ControlPlane) -> str:
    """Start the webhook and register it by URL and caBundle; return its URL."""
    from kuorum.devenv import webhook as local

    install.grant_component(plane.api_client(), "webhook")
    kubeconfig = plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.WEBHOOK_ACCOUNT)
    hook = local.LocalWebhook(
        plane.state_dir, kubeconfig, tie_to_parent=False, client_ca=plane.pki.ca_cert
    )
    hook.start()
    local.register(plane.api_client(), hook.configuration())
    return hook.url


def start_operator(plane: ControlPlane) -> None:
    """Start the operator as the kuorum-operator ServiceAccount, holding the chart's Lease
    and admitting only the stack's nodes (as the chart admits its StatefulSet's pods)."""
    install.grant_component(plane.api_client(), "operator")
    kubeconfig = plane.kubeconfig_for(names.SYSTEM_NAMESPACE, names.OPERATOR_ACCOUNT)
    plane.supervisor.start(
        "kuorum-operator",
        [
            sys.executable,
            "-m",
            "kuorum",
            "operator",
            "--kubeconfig",
            str(kubeconfig),
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--leader-election-lease",
            "kuorum-operator",
            "--admit-nodes",
            ",".join(StackState.load(plane.state_dir).nodes),
        ],
    )
