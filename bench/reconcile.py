"""How long N DecentralizedSecrets take to become Ready, what the operator and nodes keep
in memory, and what they burn when nothing changes.

    python bench/reconcile.py [--secrets 1000] [--steady 60] [--profile DIR]
    python bench/reconcile.py --secrets 5000 --memory-only

Runs a local control plane, 5 share nodes and the operator (as ``kuorum dev up`` does).
The peer, in the same run and on the same apiserver: N plain Kubernetes Secrets created
the same way, i.e. what storing the values without splitting, custody or audit costs.
Then, once one secret is Ready (not timed: the operator has started and sees the nodes),
each applied at once and waited for until every one is Ready:

1. N generated secrets (3-of-5);
2. N secrets sealed to the nodes as ``kuorum seal`` seals them (sealing is not timed);
3. steady state: operator and node CPU over ``--steady`` seconds with nothing changing;
4. a rotation wave: every generated secret's spec changed at once, until each has
   committed and materialized its next version.

``--memory-only`` runs the generated row alone (for large N). ``--profile DIR`` samples
the operator and one node with py-spy during rows 1 and 2 and prints the top entries.
Prints tables in the format of docs/benchmarks.md: the rows, and the CPU the operator,
the nodes, kube-apiserver and etcd used during each.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from plane import decentralized_secret, local_control_plane, prepare

from kuorum import names
from kuorum.accessrule import AccessRule
from kuorum.devenv import stack as devstack
from kuorum.devenv.controlplane import ControlPlane
from kuorum.kube.sharenodes import list_share_nodes
from kuorum.models import Delivery
from kuorum.placement import view
from kuorum.sealing import Recipient, seal

NAMESPACE = "bench"
SPEC = {"threshold": 3, "shares": 5}
CLOCK = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--steady", type=float, default=60.0, help="seconds of steady state")
    parser.add_argument("--memory-only", action="store_true", help="the generated row only")
    parser.add_argument("--profile", type=Path, help="py-spy the operator and kuorum-node-0")
    args = parser.parse_args()
    with local_control_plane() as (plane, _):
        run(plane, args)


def run(plane: ControlPlane, args: argparse.Namespace) -> None:
    count = args.secrets
    api = prepare(plane, NAMESPACE)
    devstack.start_nodes(plane, 5)
    devstack.start_operator(plane)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    pids = {r.name: r.pid for r in plane.supervisor.records()}
    operator = pids["kuorum-operator"]
    nodes = [pids[n] for n in sorted(pids) if n.startswith("kuorum-node-")]
    rows: list[tuple[str, float, str]] = []
    groups = {
        "operator": [operator],
        "5 nodes": nodes,
        "kube-apiserver": [pids["kube-apiserver"]],
        "etcd": [pids["etcd"]],
    }
    spent: list[tuple[str, float, dict[str, float]]] = []

    plain = _timed(
        lambda: _parallel(
            lambda i: core.create_namespaced_secret(
                NAMESPACE,
                {"metadata": {"name": f"plain-{i}"}, "stringData": {"password": "x" * 32}},
            ),
            count,
        )
    )
    sealed = [] if args.memory_only else _sealed_specs(api, core, count)
    profilers = _profile(args.profile, {"operator": operator, "node": nodes[0]})

    generated = {"source": {"generate": {"keys": [{"name": "password"}]}}, **SPEC}
    _apply_all(api, custom, [("warm-up", generated)])  # the operator sees the nodes: not timed
    with _cpu_spent(groups) as used:
        ready = _apply_all(api, custom, [(f"gen-{i}", generated) for i in range(count)])
    spent.append((f"{count} generated", ready, used))
    rows.append((f"{count} generated secrets all Ready", ready, "s"))
    rows.append(("operator peak RSS after them", _peak_rss_mib(operator), "MiB"))
    if not args.memory_only:
        _reset_peak(operator)
        with _cpu_spent(groups) as used:
            ready = _apply_all(api, custom, [(f"sealed-{i}", s) for i, s in enumerate(sealed)])
        spent.append((f"{count} sealed", ready, used))
        rows.append((f"{count} sealed secrets all Ready", ready, "s"))
        rows.append(("operator peak RSS during them", _peak_rss_mib(operator), "MiB"))
    for name, profiler in profilers.items():
        profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT, not SIGTERM
        profiler.wait()
        print(f"\npy-spy, {name}: top entries by share of samples (self / total)")
        _print_top(args.profile / f"{name}.txt")
    for index, pid in enumerate(nodes):
        rows.append((f"kuorum-node-{index} peak RSS", _peak_rss_mib(pid), "MiB"))
    if not args.memory_only:
        busy = _cpu_percent([operator], args.steady)
        rows.append((f"steady state, operator CPU over {args.steady:.0f} s", busy, "% of a core"))
        busy = _cpu_percent(nodes, args.steady)
        rows.append((f"steady state, 5 nodes' CPU over {args.steady:.0f} s", busy, "% of a core"))
        with _cpu_spent(groups) as used:
            rotated = _rotate_all(api, custom, [f"gen-{i}" for i in range(count)])
        spent.append((f"{count} rotated", rotated, used))
        rows.append((f"rotation wave: {count} generated secrets rotated", rotated, "s"))

    print(f"\n{count} DecentralizedSecrets, 3-of-5; 5 share nodes; one operator\n")
    print("| measure | Kuorum | peer | peer | ratio (Kuorum / peer) |")
    print("|---|---:|---|---:|---:|")
    for label, value, unit in rows:
        if unit == "s":
            print(
                f"| {label} ({unit}) | {value:.1f} | {count} plain Secrets created | "
                f"{plain:.1f} | {value / plain:.1f} |"
            )
        else:
            print(f"| {label} ({unit}) | {value:.1f} | — | — | — |")
    print(f"\nCPU used during each row (% of the row's time on one core; {os.cpu_count()} cores)\n")
    print("| row | s | " + " | ".join(groups) + " |")
    print("|---|---:|" + "---:|" * len(groups))
    for row, seconds, used in spent:
        shares = " | ".join(f"{used[g] / seconds * 100:.0f}" for g in groups)
        print(f"| {row} | {seconds:.1f} | {shares} |")


def _sealed_specs(api: client.ApiClient, core: client.CoreV1Api, count: int) -> list[Any]:
    """``count`` specs sealed to the 5 nodes and the bench namespace, as ``kuorum seal``
    makes them (one fresh data key each)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    now = datetime.now(UTC)
    views = [v for v in (view(o, now=now) for o in list_share_nodes(api)) if v is not None]
    recipients = [Recipient(v.name, v.public_keys) for v in views[:5]]
    uid = core.read_namespace(NAMESPACE).metadata.uid
    sealer = ed25519.Ed25519PrivateKey.generate()
    specs = []
    for i in range(count):
        name = f"sealed-{i}"
        rule = AccessRule(name, "Opaque", None, uid, Delivery.SECRET).digest()
        bundle = seal(
            {"password": os.urandom(24)},
            namespace=NAMESPACE,
            name=name,
            version=1,
            threshold=3,
            recipients=recipients,
            sealer=sealer,
            rule=rule,
            namespace_uid=uid,
        )
        specs.append({**SPEC, "source": {"sealed": bundle.to_dict()}})
    return specs


def _apply_all(
    api: client.ApiClient, custom: client.CustomObjectsApi, objects: list[tuple[str, Any]]
) -> float:
    """Create every object at once; seconds until each is Ready."""
    wanted = {name for name, _ in objects}
    done = _watch_until(api, lambda obj: _is_ready(obj, 1), wanted)
    started = time.monotonic()
    _parallel(
        lambda i: custom.create_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            NAMESPACE,
            names.SECRET_PLURAL,
            decentralized_secret(*objects[i]),
        ),
        len(objects),
    )
    done.wait()
    return time.monotonic() - started


def _rotate_all(api: client.ApiClient, custom: client.CustomObjectsApi, names_: list[str]) -> float:
    """Change every generated secret's spec at once (a new generation: a new version is
    dealt); seconds until each has materialized version 2."""
    done = _watch_until(api, lambda obj: _is_ready(obj, 2), set(names_))
    started = time.monotonic()
    _parallel(
        lambda i: custom.patch_namespaced_custom_object(
            names.GROUP,
            names.VERSION,
            NAMESPACE,
            names.SECRET_PLURAL,
            names_[i],
            {"spec": {"rotation": {"interval": "720h"}}},
        ),
        len(names_),
    )
    done.wait()
    return time.monotonic() - started


def _is_ready(obj: Any, version: int) -> bool:
    status = obj.get("status") or {}
    conditions = status.get("conditions") or []
    return (status.get("version") or 0) >= version and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


def _watch_until(
    api: client.ApiClient, done: Callable[[Any], bool], wanted: set[str]
) -> threading.Event:
    """An event set once every object named in ``wanted`` has satisfied ``done``, as seen
    by a watch (so waiting adds no polling load on the apiserver). A watch that ends or
    fails is started again from a fresh list, which also sees what happened meanwhile."""
    custom = client.CustomObjectsApi(api)
    left, finished = set(wanted), threading.Event()

    def seen(obj: Any) -> None:
        if obj["metadata"]["name"] in left and done(obj):
            left.discard(obj["metadata"]["name"])

    def follow() -> None:
        while left:
            try:
                listed: Any = custom.list_namespaced_custom_object(
                    names.GROUP, names.VERSION, NAMESPACE, names.SECRET_PLURAL
                )
                for obj in listed["items"]:
                    seen(obj)
                stream = watch.Watch().stream(
                    custom.list_namespaced_custom_object,
                    names.GROUP,
                    names.VERSION,
                    NAMESPACE,
                    names.SECRET_PLURAL,
                    resource_version=listed["metadata"]["resourceVersion"],
                    timeout_seconds=60,
                )
                for event in stream:
                    if event["type"] in ("ADDED", "MODIFIED"):
                        seen(event["object"])
                    if not left:
                        break
            except Exception as error:  # say it, then list and watch again
                print(f"watch restarted: {error!r}", file=sys.stderr)
                time.sleep(1)
        finished.set()

    threading.Thread(target=follow, daemon=True).start()
    return finished


def _timed(action: Callable[[], None]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def _parallel(create: Any, count: int) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(count)))


def _cpu_percent(pids: Iterable[int], seconds: float) -> float:
    """Percent of one core the processes used together over ``seconds``."""
    pids = list(pids)
    before = sum(_cpu_ticks(p) for p in pids)
    time.sleep(seconds)
    return (sum(_cpu_ticks(p) for p in pids) - before) / CLOCK / seconds * 100


@contextlib.contextmanager
def _cpu_spent(groups: dict[str, list[int]]) -> Iterator[dict[str, float]]:
    """CPU seconds each group of processes used inside the block (filled in at its end)."""
    before = {g: sum(_cpu_ticks(p) for p in pids) for g, pids in groups.items()}
    used: dict[str, float] = {}
    yield used
    for group, pids in groups.items():
        used[group] = (sum(_cpu_ticks(p) for p in pids) - before[group]) / CLOCK


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def _reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _profile(directory: Path | None, pids: dict[str, int]) -> dict[str, subprocess.Popen[bytes]]:
    if directory is None:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).with_name("py-spy"))
    # --gil: only the thread holding the GIL, i.e. where the process spends its CPU
    flags = ["--rate", "50", "--format", "raw", "--gil", "--nonblocking"]
    return {
        name: subprocess.Popen(
            [spy, "record", "--pid", str(pid), *flags, "--output", str(directory / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }


def _print_top(path: Path, count: int = 15) -> None:
    """The functions most often on top of (self) and anywhere in (total) the sampled
    stacks of a py-spy raw (collapsed) file."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, weight = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";")]
        n = int(weight)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    for frame, n in own.most_common(count):
        print(f"  {n / samples:6.1%} / {anywhere[frame] / samples:6.1%}  {frame}")


def _frame(frame: str) -> str:
    """``function (path/file.py:line)`` as ``function file.py``."""
    function, _, where = frame.partition(" (")
    return f"{function} {where.rpartition('/')[2].split(':')[0]}"


if __name__ == "__main__":
    main()
