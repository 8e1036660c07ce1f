"""What a local node changes on the host, and putting all of it back.

A kubelet with containerd and CNI reaches well beyond its own directories: sysctls,
iptables chains, a bridge, cgroups in every hierarchy, mounts, shims that outlive
containerd, a few fixed paths. Before the node starts, :func:`record` writes what the
host looked like to ``/run/kuorum-node/`` (outside the state directory, so a run
interrupted by SIGKILL, whose state directory may be gone, is still undone by the next
start); :func:`restore` undoes everything the node added and nothing else — processes by
pid (those in the node's cgroups, shims by their socket), mounts by path under the state
directory, chains and paths only if they were not there before.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kuorum.devenv import hostnet

RECORD_DIR = Path("/run/kuorum-node")
SOCKET = RECORD_DIR / "containerd.sock"
KUBELET_ROOT = RECORD_DIR / "kubelet"
"""The containerd socket and the kubelet's root directory (which holds sockets too) live
here, not in the state directory: a unix socket path has at most 104 bytes, and a pytest
temporary directory alone takes 60."""
SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/netfilter/nf_conntrack_max",
)
"""What the kubelet, kube-proxy and the bridge plugin set (kubelet: overcommit, panic,
keys; bridge: ip_forward; kube-proxy: route_localnet, conntrack)."""
CHAIN_PREFIXES = ("KUBE-", "CNI-")
TABLES = ("filter", "nat", "mangle", "raw")
FAMILIES = ("iptables", "ip6tables")
PATHS = (
    "/run/containerd",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/var/lib/kubelet",
    "/etc/cni/net.d",
)
"""Fixed paths the kubelet, containerd and CNI write whatever their configuration says
(``/run/containerd/s`` holds shim sockets; ``/var/log/containers`` links to pod logs)."""
CGROUP_ROOT = Path("/sys/fs/cgroup")
KUBEPODS = "kubepods"


@dataclass
class HostRecord:
    """The host before the node: what :func:`restore` puts back."""

    state_dir: str
    socket: str
    sysctls: dict[str, str] = field(default_factory=dict)
    chains: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    paths: dict[str, list[str] | None] = field(default_factory=dict)
    bridge_existed: bool = False


def record(state_dir: Path, socket: Path) -> HostRecord:
    """Write down the host as it is now, before the node changes it."""
    host = HostRecord(
        state_dir=str(state_dir),
        socket=str(socket),
        sysctls={name: value for name in SYSCTLS if (value := _read_sysctl(name)) is not None},
        chains={family: _chains(family) for family in FAMILIES if shutil.which(family)},
        paths={path: _entries(Path(path)) for path in PATHS},
        bridge_existed=Path(f"/sys/class/net/{hostnet.BRIDGE}").exists(),
    )
    RECORD_DIR.mkdir(mode=0o700, exist_ok=True)
    (RECORD_DIR / "host.json").write_text(json.dumps(asdict(host), indent=2))
    return host


def recorded() -> HostRecord | None:
    """The record of a node that has not been restored yet (None: there is none)."""
    path = RECORD_DIR / "host.json"
    if not path.exists():
        return None
    return HostRecord(**json.loads(path.read_text()))


def restore(host: HostRecord) -> list[str]:
    """Undo what the node did to the host; return one line per kind of thing undone.

    Its host processes (kubelet, containerd, ...) must be stopped first; what they left
    running is found here: every process in the ``kubepods`` cgroups, then every shim
    serving the node's socket.
    """
    done = []
    killed = _kill(_pod_processes() + _shims(host.socket))
    if killed:
        done.append(f"killed {killed} container and shim processes")
    unmounted = _unmount_under(Path(host.state_dir)) + _unmount_under(KUBELET_ROOT)
    if unmounted:
        done.append(f"unmounted {unmounted} mounts")
    removed = _remove_cgroups()
    if removed:
        done.append(f"removed {removed} cgroups")
    if not host.bridge_existed and _delete_bridge():
        done.append(f"deleted bridge {hostnet.BRIDGE}")
    chains = sum(_drop_chains(family, before) for family, before in host.chains.items())
    if chains:
        done.append(f"removed {chains} iptables chains")
    reset = [name for name, value in host.sysctls.items() if _write_sysctl(name, value)]
    if reset:
        done.append("reset sysctls " + ", ".join(reset))
    paths = sum(_prune(Path(path), before) for path, before in host.paths.items())
    if paths:
        done.append(f"removed {paths} paths")
    shutil.rmtree(RECORD_DIR, ignore_errors=True)  # the record and stale sockets
    return done


# -- processes -------------------------------------------------------------------------


def _pod_processes() -> list[int]:
    """Every pid in a ``kubepods`` cgroup of any hierarchy (containers and pause)."""
    pids: set[int] = set()
    for hierarchy in _hierarchies():
        for procs in (hierarchy / KUBEPODS).rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(line) for line in procs.read_text().split())
    return sorted(pids)


def _shims(socket: str) -> list[int]:
    """Shims started by the node's containerd: they re-parent to PID 1 and outlive it."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
            pids.append(int(proc.name))
    return pids


def _kill(pids: list[int]) -> int:
    """SIGKILL each pid and wait until it is gone; return how many there were."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    return len(pids)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- mounts and cgroups ------------------------------------------------------------------


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below ``root``, deepest first (as /proc/self/mountinfo says)."""
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(Path(point))
    return sorted(set(points), key=lambda point: len(point.parts), reverse=True)


def _unmount_under(root: Path) -> int:
    """Unmount everything below ``root`` (pod volumes, rootfs overlays, netns, shm)."""
    count = 0
    for _ in range(3):  # a lazy unmount of a parent can uncover nothing new; stacked ones can
        points = mounts_under(root)
        for point in points:
            subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)
        count += len(points)
        if not points:
            break
    return count


def _hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers, the named systemd one, unified)."""
    if not CGROUP_ROOT.is_dir():
        return []
    return [path for path in CGROUP_ROOT.iterdir() if path.is_dir() and not path.is_symlink()]


def kubepods_cgroups() -> list[Path]:
    """The ``kubepods`` cgroup of each hierarchy that has one."""
    return [path / KUBEPODS for path in _hierarchies() if (path / KUBEPODS).is_dir()]


def _remove_cgroups() -> int:
    """Remove the kubelet's cgroup trees bottom-up (cgroups are removed with rmdir)."""
    removed = 0
    for top in kubepods_cgroups():
        directories = sorted(
            (path for path in top.rglob("*") if path.is_dir()),
            key=lambda path: len(path.parts),
            reverse=True,
        )
        for directory in [*directories, top]:
            for _ in range(50):
                try:
                    directory.rmdir()
                    removed += 1
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last task leaves
                    time.sleep(0.1)
    return removed


# -- network -----------------------------------------------------------------------------


def create_bridge() -> None:
    """Create the node's bridge with the node IP (the CNI bridge plugin then uses it)."""
    if not Path(f"/sys/class/net/{hostnet.BRIDGE}").exists():
        _ip("link", "add", hostnet.BRIDGE, "type", "bridge")
    address = f"{hostnet.NODE_IP}/{hostnet.PREFIX}"
    shown = subprocess.run(
        ["ip", "-o", "addr", "show", "dev", hostnet.BRIDGE], capture_output=True, text=True
    )
    if address not in shown.stdout:
        _ip("addr", "add", address, "dev", hostnet.BRIDGE)
    _ip("link", "set", hostnet.BRIDGE, "up")


def _delete_bridge() -> bool:
    if not Path(f"/sys/class/net/{hostnet.BRIDGE}").exists():
        return False
    _ip("link", "del", hostnet.BRIDGE)
    return True


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], capture_output=True, text=True, check=True)


def _chains(family: str) -> dict[str, list[str]]:
    """Chains of each table, by name (iptables-save)."""
    return {table: sorted(_parse_chains(_save(family, table))) for table in TABLES}


def ours(family_chains: dict[str, list[str]]) -> dict[str, list[str]]:
    """Only the chains a kubelet, kube-proxy or CNI plugin makes (by prefix)."""
    return {
        table: [name for name in chains if name.startswith(CHAIN_PREFIXES)]
        for table, chains in family_chains.items()
    }


def current_chains() -> dict[str, dict[str, list[str]]]:
    """The chains of every family now (what a teardown test compares)."""
    return {family: _chains(family) for family in FAMILIES if shutil.which(family)}


def _save(family: str, table: str) -> str:
    saved = subprocess.run(
        [f"{family}-save", "-t", table], capture_output=True, text=True, check=False
    )
    return saved.stdout if saved.returncode == 0 else ""


def _parse_chains(saved: str) -> set[str]:
    return {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}


def without_chains(saved: str, drop: set[str]) -> str:
    """``saved`` (one table of iptables-save) without the chains ``drop`` and every rule
    in them or jumping to them."""
    kept = []
    for line in saved.splitlines():
        words = line.split()
        if line.startswith(":") and line[1:].split()[0] in drop:
            continue
        if line.startswith("-A ") and len(words) > 1 and words[1] in drop:
            continue
        jumps = {words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-j", "-g")}
        if jumps & drop:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _drop_chains(family: str, before: dict[str, list[str]]) -> int:
    """Remove chains with our prefixes that were not there before, table by table (an
    atomic iptables-restore of the table without them)."""
    dropped = 0
    for table in TABLES:
        saved = _save(family, table)
        new = {
            name
            for name in _parse_chains(saved) - set(before.get(table, []))
            if name.startswith(CHAIN_PREFIXES)
        }
        if not new:
            continue
        subprocess.run(
            [f"{family}-restore", "-T", table],
            input=without_chains(saved, new),
            capture_output=True,
            text=True,
            check=True,
        )
        dropped += len(new)
    return dropped


# -- sysctls and paths -------------------------------------------------------------------


def _read_sysctl(name: str) -> str | None:
    try:
        return (Path("/proc/sys") / name).read_text().strip()
    except OSError:
        return None


def current_sysctls() -> dict[str, str]:
    """The values of :data:`SYSCTLS` now (what a teardown test compares)."""
    return {name: value for name in SYSCTLS if (value := _read_sysctl(name)) is not None}


def _write_sysctl(name: str, value: str) -> bool:
    """Set ``name`` back to ``value`` if it changed; True if it did."""
    if _read_sysctl(name) == value:
        return False
    with contextlib.suppress(OSError):
        (Path("/proc/sys") / name).write_text(value)
    return True


def _entries(path: Path) -> list[str] | None:
    """The names in ``path`` (None: it does not exist)."""
    if not path.is_dir():
        return None
    return sorted(entry.name for entry in path.iterdir())


def _prune(path: Path, before: list[str] | None) -> int:
    """Remove what appeared in ``path``: all of it if it did not exist, else new entries."""
    if not path.exists() and not path.is_symlink():
        return 0
    if before is None:
        shutil.rmtree(path, ignore_errors=True)
        return 1
    new = [path / name for name in _entries(path) or [] if name not in before]
    for entry in new:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return len(new)
