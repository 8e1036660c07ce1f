"""The local node leaves the host as it found it: after ``kuorum dev down``, and after a
run that was killed with SIGKILL (the next start undoes it).

"As it found it" is checked, not assumed: the sysctls the kubelet, kube-proxy and the
bridge plugin set, every KUBE-*/CNI-* iptables chain, the bridge, the ``kubepods``
cgroups, mounts under the state directory, the fixed paths containerd and the kubelet
write, and any process whose command line names the state directory or the node's
containerd socket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from kuorum.devenv import hostchanges, hostnet, images
from kuorum.devenv import node as local_node
from kuorum.devenv.processes import wait_until

SLEEP = ("--image-pull-policy=Never", "--command", "--", "sleep", "3600")
TIMEOUT = 600.0
"""Seconds for ``kuorum dev up`` (the first run on a machine builds images)."""


def host_state(root: Path) -> dict[str, Any]:
    """Everything the node could leave behind, as comparable data."""
    return {
        "sysctls": hostchanges.current_sysctls(),
        "chains": {
            family: hostchanges.ours(chains)
            for family, chains in hostchanges.current_chains().items()
        },
        "bridge": Path(f"/sys/class/net/{hostnet.BRIDGE}").exists(),
        "cgroups": [str(path) for path in hostchanges.kubepods_cgroups()],
        "mounts": [
            str(path)
            for directory in (root, hostchanges.RECORD_DIR)
            for path in hostchanges.mounts_under(directory)
        ],
        "paths": {path: _listing(Path(path)) for path in hostchanges.PATHS},
        "processes": _processes_naming(str(root)) + _processes_naming(str(hostchanges.SOCKET)),
        "record": hostchanges.recorded() is not None,
    }


def _listing(path: Path) -> list[str] | None:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else None


def _processes_naming(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def kuorum(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kuorum", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        cwd=cwd,
    )
    assert done.returncode == 0, f"kuorum {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_dev_up_runs_pods_and_dev_down_restores_the_host(tmp_path: Path) -> None:
    state = tmp_path / "dev"
    local_node.leftovers()  # what a start does first: undo a run interrupted earlier
    before = host_state(tmp_path)

    kuorum("dev", "up", "--nodes", "3", "--state-dir", str(state), cwd=tmp_path)
    try:
        kubectl = [str(state / "bin" / "kubectl"), f"--kubeconfig={state / 'kubeconfig'}"]
        subprocess.run(
            [*kubectl, "run", "sleeper", f"--image={images.BUSYBOX_REFERENCE}", *SLEEP],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*kubectl, "wait", "pod/sleeper", "--for=condition=Ready", "--timeout=180s"],
            check=True,
            capture_output=True,
        )
        during = host_state(tmp_path)
        assert during["bridge"] and during["cgroups"] and during["mounts"]
    finally:
        down = kuorum("dev", "down", "--state-dir", str(state), cwd=tmp_path)

    assert "killed" in down and "kubelet" in down
    assert host_state(tmp_path) == before


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kuorum.devenv import hostnet, images
    from kuorum.devenv import node as local_node
    from kuorum.devenv.controlplane import ControlPlane

    plane = ControlPlane(Path(sys.argv[1]), tie_to_parent=True)
    node = local_node.LocalNode(plane)
    pause, busybox, _ = images.build_all()
    node.prepare_host()
    plane.start(address=hostnet.NODE_IP)
    node.start(pause, [busybox])
    plane.kubectl(
        "run", "sleeper", f"--image={busybox.reference}", "--image-pull-policy=Never",
        "--command", "--", "sleep", "3600",
    )
    plane.kubectl("wait", "pod/sleeper", "--for=condition=Ready", "--timeout=180s")
    print("running", flush=True)
    time.sleep(3600)
    """
)


def test_a_run_killed_with_sigkill_is_undone_by_the_next_start(tmp_path: Path) -> None:
    local_node.leftovers()  # what a start does first: undo a run interrupted earlier
    before = host_state(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "plane")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    said = []
    for line in child.stdout:  # build progress may come first
        said.append(line)
        if line.strip() == "running":
            break
    assert said and said[-1].strip() == "running", "".join(said)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    # The kubelet and containerd died with it; the pod's processes and the shims (which
    # name the node's containerd socket) did not.
    host = hostchanges.recorded()
    assert host is not None
    wait_until(
        lambda: not _processes_naming(str(tmp_path)),
        timeout=30,
        what="the processes tied to the killed run to die",
    )
    left = host_state(tmp_path)
    assert left["bridge"] and left["cgroups"] and left["processes"], left

    undone = local_node.leftovers()

    assert any(line.startswith("killed") for line in undone), undone
    assert host_state(tmp_path) == before
