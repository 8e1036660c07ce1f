"""A real node for the local control plane: kubelet, containerd, runc, CNI, kube-proxy,
kube-scheduler and CoreDNS, as local processes under the control plane's supervisor.

Pods scheduled here really run: images come from OCI archives imported into containerd
(:mod:`kuorum.devenv.images`; there is no registry, so pods use ``imagePullPolicy:
Never``), volumes and projected tokens are the kubelet's own, Services work through
kube-proxy's iptables rules and names through CoreDNS. Everything lives under
``STATE_DIR/node``, but for the sockets' directories (``/run/kuorum-node``: a socket
path may not be longer than 104 bytes); what the node changes on the host outside them is
recorded first and undone by :meth:`LocalNode.stop` (:mod:`kuorum.devenv.hostchanges`).

Two settings this machine kind needs, found by trying: the VM's bounding set lacks
CAP_SYS_RESOURCE, so runc cannot raise a container's ``oom_score_adj`` (containerd's
``restrict_oom_score_adj`` and the kubelet's ``oomScoreAdj: 0``); and cgroup v1 must be
allowed explicitly (``failCgroupV1: false``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from kuorum.devenv import hostchanges, hostnet, images, install
from kuorum.devenv import pki as pki_module
from kuorum.devenv.binaries import Assets, ensure_node_assets
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import free_port, wait_until
from kuorum.errors import UserError

CONTAINERD, KUBELET, SCHEDULER, PROXY, COREDNS = (
    "containerd",
    "kubelet",
    "kube-scheduler",
    "kube-proxy",
    "coredns",
)
COMPONENTS = (SCHEDULER, KUBELET, PROXY, COREDNS, CONTAINERD)
"""In the order they stop: the kubelet before the runtime it drives."""
READY_TIMEOUT = 120.0
DEBIAN_PACKAGES = {
    "runc": "/usr/sbin/runc",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
    "iptables": "/usr/sbin/iptables",
    "iproute2": "/usr/sbin/ip",
}
"""What the node takes from Debian (apt-get install), by a file each package provides."""
CNI_BIN = Path("/usr/lib/cni")
KUBELET_API_ROLE = "kuorum-dev:kubelet-api"
COREDNS_ROLE = "kuorum-dev:coredns"


def unavailable() -> str | None:
    """Why this machine cannot run the local node (None: it can)."""
    if os.geteuid() != 0:
        return "not root (a kubelet needs root for mounts, cgroups and network namespaces)"
    missing = [name for name, path in DEBIAN_PACKAGES.items() if not Path(path).exists()]
    if missing:
        return "missing Debian packages: apt-get install " + " ".join(missing)
    if not Path("/sys/fs/cgroup").is_dir():
        return "no cgroup filesystem at /sys/fs/cgroup"
    if not _capable_of_network_admin():
        return "no CAP_NET_ADMIN (cannot create the node's bridge)"
    return None


def _capable_of_network_admin() -> bool:
    """CAP_NET_ADMIN (bit 12) in the effective set: bridges, veths, iptables."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 12 & 1)
    return False


def leftovers() -> list[str]:
    """Undo a node that was never stopped (an interrupted run); what was undone.

    A node whose kubelet still runs is another live cluster's, not a leftover: refused.
    """
    host = hostchanges.recorded()
    if host is None:
        return []
    node_dir = Path(host.state_dir)
    supervisor = ControlPlane(node_dir.parent).supervisor
    if supervisor.running(KUBELET):
        raise UserError(
            f"a local node of {node_dir.parent} is running (one per machine): stop it "
            f"first with kuorum dev down --state-dir {node_dir.parent}"
        )
    for name in COMPONENTS:  # what survived the kubelet would restart what is killed
        supervisor.stop(name)
    return hostchanges.restore(host)


class LocalNode:
    """The node of one control plane's state directory."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.directory = plane.state_dir / "node"
        self.socket = hostchanges.SOCKET

    # -- lifecycle -------------------------------------------------------------------

    def prepare_host(self) -> None:
        """Undo any earlier node, record the host, create the bridge (the node IP the
        apiserver then listens on): before the control plane starts."""
        leftovers()
        self.directory.mkdir(parents=True, exist_ok=True)
        hostchanges.record(self.directory, self.socket)
        hostchanges.create_bridge()

    def start(
        self,
        sandbox: images.Image,
        node_images: Sequence[images.Image],
        *,
        assets: Assets | None = None,
    ) -> None:
        """Start containerd (with ``sandbox``, the pause image, and ``node_images``
        imported), the kubelet, kube-proxy, the scheduler and CoreDNS; wait until the
        Node is Ready."""
        assets = assets or ensure_node_assets()
        api = self.plane.api_client()
        _grant(api)
        self._write_kubeconfigs()
        self._start_containerd(assets, sandbox.reference)
        self._import(assets, [sandbox, *node_images])
        self._start_coredns(assets)
        self._start_kubelet(assets)
        self._start_proxy(assets)
        self._start_scheduler(assets)
        self.wait_ready(api)

    def stop(self) -> list[str]:
        """Stop the node's processes, then undo what it changed on the host."""
        supervisor = self.plane.supervisor
        stopped = [name for name in COMPONENTS if supervisor.stop(name)]
        host = hostchanges.recorded()
        if host is not None and Path(host.state_dir) == self.directory:
            stopped += hostchanges.restore(host)
        return stopped

    def wait_ready(self, api: client.ApiClient, timeout: float = READY_TIMEOUT) -> None:
        """Wait for the Node to register and report Ready (CNI config and runtime up)."""
        core = client.CoreV1Api(api)

        def ready() -> bool:
            try:
                node = core.read_node(hostnet.NODE_NAME)
            except client.ApiException:
                return False
            conditions = (node.status and node.status.conditions) or []
            return any(c.type == "Ready" and c.status == "True" for c in conditions)

        wait_until(
            ready,
            timeout=timeout,
            what=f"Node {hostnet.NODE_NAME}",
            interval=0.5,
            log=self.plane.supervisor.log_path(KUBELET),
        )

    # -- components ------------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        path = self.directory.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _write_kubeconfigs(self) -> None:
        for name in (
            pki_module.KUBELET,
            pki_module.SCHEDULER,
            pki_module.PROXY,
            pki_module.COREDNS,
        ):
            self.plane.write_client_kubeconfig(self._path(f"{name}.kubeconfig"), name)

    def _start_containerd(self, assets: Assets, sandbox: str) -> None:
        cni = self._path("cni", "net.d", "10-kuorum.conflist")
        cni.write_text(json.dumps(_cni_config(self._path("cni", "ipam")), indent=2))
        config = self._path("containerd", "config.toml")
        config.write_text(_containerd_config(self.directory, self.socket, cni.parent, sandbox))
        env = dict(os.environ, PATH=f"{assets.directory}:{os.environ.get('PATH', '')}")
        self.plane.supervisor.start(
            CONTAINERD, [str(assets.path("containerd")), f"--config={config}"], env=env
        )
        wait_until(
            lambda: self._ctr(assets, "version").returncode == 0,
            timeout=READY_TIMEOUT,
            what="containerd",
            log=self.plane.supervisor.log_path(CONTAINERD),
        )

    def _ctr(self, assets: Assets, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(assets.path("ctr")), f"--address={self.socket}", "--namespace=k8s.io", *args]
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)

    def _import(self, assets: Assets, node_images: Sequence[images.Image]) -> None:
        """Import each OCI archive (what a registry pull would have fetched)."""
        for image in node_images:
            commands = [["import", "--local", str(image.archive)]]
            commands += [["tag", "--force", image.reference, alias] for alias in image.aliases]
            for command in commands:
                done = self._ctr(assets, "images", *command)
                if done.returncode != 0:
                    raise RuntimeError(f"ctr images {' '.join(command)}: {done.stderr.strip()}")

    def _start_coredns(self, assets: Assets) -> None:
        corefile = self._path("coredns", "Corefile")
        kubeconfig = self.directory / f"{pki_module.COREDNS}.kubeconfig"
        corefile.write_text(
            f".:53 {{\n    bind {hostnet.NODE_IP}\n    errors\n"
            f"    kubernetes {hostnet.CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{\n"
            f"        kubeconfig {kubeconfig} kuorum-dev\n"
            "        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n    }\n"
            "    cache 5\n}\n"
        )
        self.plane.supervisor.start(
            COREDNS, [str(assets.path("coredns")), "-conf", str(corefile), "-dns.port", "53"]
        )

    def _start_kubelet(self, assets: Assets) -> None:
        pki = self.plane.pki
        serving_cert, serving_key = pki.client(pki_module.KUBELET_SERVING)
        config = self._path("kubelet", "config.yaml")
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubelet.config.k8s.io/v1beta1",
                    "kind": "KubeletConfiguration",
                    "failCgroupV1": False,
                    "cgroupDriver": "cgroupfs",
                    "containerRuntimeEndpoint": f"unix://{self.socket}",
                    "address": hostnet.NODE_IP,
                    "readOnlyPort": 0,
                    "healthzPort": 0,
                    "tlsCertFile": str(serving_cert),
                    "tlsPrivateKeyFile": str(serving_key),
                    "authentication": {
                        "anonymous": {"enabled": False},
                        "webhook": {"enabled": True},
                        "x509": {"clientCAFile": str(pki.ca_cert)},
                    },
                    "authorization": {"mode": "Webhook"},
                    "oomScoreAdj": 0,
                    "imageGCHighThresholdPercent": 100,
                    "imageGCLowThresholdPercent": 99,
                    "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%"},
                    "failSwapOn": False,
                    "clusterDNS": [hostnet.NODE_IP],
                    "clusterDomain": hostnet.CLUSTER_DOMAIN,
                    "podLogsDir": str(self._path("kubelet", "pod-logs", ".")),
                    "resolvConf": str(self._resolv_conf()),
                    "serializeImagePulls": False,
                }
            )
        )
        self.plane.supervisor.start(
            KUBELET,
            [
                str(assets.path("kubelet")),
                f"--config={config}",
                f"--kubeconfig={self.directory / 'kubelet.kubeconfig'}",
                f"--root-dir={hostchanges.KUBELET_ROOT}",
                f"--hostname-override={hostnet.NODE_NAME}",
                f"--node-ip={hostnet.NODE_IP}",
                "--v=0",
            ],
        )

    def _resolv_conf(self) -> Path:
        """The pods' upstream resolv.conf: none (the cluster needs no outside names, and
        the host's may point at a loopback resolver pods cannot reach)."""
        path = self._path("kubelet", "resolv.conf")
        path.write_text("")
        return path

    def _start_proxy(self, assets: Assets) -> None:
        config = self._path("kube-proxy", "config.yaml")
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "clientConnection": {
                        "kubeconfig": str(self.directory / f"{pki_module.PROXY}.kubeconfig")
                    },
                    "mode": "iptables",
                    "bindAddress": hostnet.NODE_IP,
                    "hostnameOverride": hostnet.NODE_NAME,
                    "clusterCIDR": hostnet.POD_CIDR,
                    "nodePortAddresses": [f"{hostnet.NODE_IP}/32"],
                    "healthzBindAddress": f"127.0.0.1:{free_port()}",
                    "metricsBindAddress": f"127.0.0.1:{free_port()}",
                    "iptables": {"localhostNodePorts": False},
                    "conntrack": {"maxPerCore": 0, "min": 0},
                }
            )
        )
        self.plane.supervisor.start(PROXY, [str(assets.path("kube-proxy")), f"--config={config}"])

    def _start_scheduler(self, assets: Assets) -> None:
        kubeconfig = self.directory / f"{pki_module.SCHEDULER}.kubeconfig"
        self.plane.supervisor.start(
            SCHEDULER,
            [
                str(assets.path("kube-scheduler")),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--v=0",
            ],
        )


def _cni_config(ipam_dir: Path) -> dict[str, Any]:
    """bridge + host-local + portmap on the node's bridge and pod range."""
    return {
        "cniVersion": "1.0.0",
        "name": "kuorum",
        "plugins": [
            {
                "type": "bridge",
                "bridge": hostnet.BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": hostnet.POD_CIDR, "gateway": hostnet.NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def _containerd_config(directory: Path, socket: Path, cni_conf: Path, pause: str) -> str:
    """containerd 2.x configuration (version 3): own root, state and sockets; the CRI
    settings this machine needs (see the module docstring)."""
    runc = shutil.which("runc") or "/usr/sbin/runc"
    return f"""version = 3
root = "{directory / "containerd" / "root"}"
state = "{directory / "containerd" / "state"}"
disabled_plugins = ["io.containerd.nri.v1.nri"]

[plugins.'io.containerd.server.v1.grpc']
  address = "{socket}"

[plugins.'io.containerd.server.v1.ttrpc']
  address = "{socket}.ttrpc"

[plugins.'io.containerd.server.v1.debug']
  address = ""

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "{pause}"

[plugins.'io.containerd.cri.v1.runtime']
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true

[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = "runc"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = "{runc}"
  Root = "{directory / "runc"}"
  SystemdCgroup = false

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["{CNI_BIN}"]
  conf_dir = "{cni_conf}"
"""


def _grant(api: client.ApiClient) -> None:
    """What the apiserver's kubelet client (logs, exec) and CoreDNS may do, no more."""
    kubelet_api = [
        {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["nodes/log"], "verbs": ["get"]},
    ]
    dns = [
        {
            "apiGroups": [""],
            "resources": ["endpoints", "services", "pods", "namespaces"],
            "verbs": ["list", "watch"],
        },
        {
            "apiGroups": ["discovery.k8s.io"],
            "resources": ["endpointslices"],
            "verbs": ["list", "watch"],
        },
    ]
    for role, user, rules in (
        (KUBELET_API_ROLE, pki_module.KUBELET_CLIENT, kubelet_api),
        (COREDNS_ROLE, pki_module.COREDNS_USER, dns),
    ):
        subject = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
        install.grant_cluster_role(api, role, rules, [subject])
