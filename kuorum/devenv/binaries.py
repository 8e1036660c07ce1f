"""Find or build the binaries of the local cluster, from the Go module proxy.

Two sets, each cached in its own versioned directory outside the repository:

- the control plane: etcd, kube-apiserver, kube-controller-manager, and kubectl of the
  same release (as in envtest's asset directory, so tests and the demo never depend on
  whatever client the machine happens to have). ``$KUBEBUILDER_ASSETS`` wins when set,
  as in controller-runtime's envtest.
- the node: kubelet, kube-scheduler and kube-proxy of the same release, containerd (with
  its runc shim and ``ctr``) and CoreDNS. ``$KUORUM_NODE_ASSETS`` wins when set.

Each project is built from its own small tools module (so version selection never
mixes their dependencies), once; every later run reuses the cache.

    python -m kuorum.devenv.binaries          # the control plane; print its directory
    python -m kuorum.devenv.binaries --node   # the node set
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kuorum.errors import UserError

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
CONTAINERD_VERSION = "v2.4.2"
"""kubelet 1.36 takes containerd 1.x only through a fallback and 1.37 drops it."""
COREDNS_VERSION = "v1.14.7"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")
NODE_BINARIES = (
    "kubelet",
    "kube-scheduler",
    "kube-proxy",
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "coredns",
)
GO_PROXY = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0]
PROGRESS_EVERY = 30.0
"""Seconds between progress lines of a long build (about five minutes cold on 2 cores)."""


@dataclass(frozen=True)
class Assets:
    """Where one set of binaries is."""

    directory: Path

    @property
    def kubectl(self) -> Path:
        """kubectl of the same Kubernetes release as the apiserver."""
        return self.path("kubectl")

    def path(self, name: str) -> Path:
        """Return the path of one binary."""
        return self.directory / name


@dataclass(frozen=True)
class BinarySet:
    """One cached set: its binaries, its cache directory, the variable that overrides it
    and the builds that make it."""

    what: str
    binaries: tuple[str, ...]
    cache_name: str
    override: str
    builds: tuple[Callable[[Path, Path, bool], None], ...]

    @property
    def cache(self) -> Path:
        """The versioned cache directory (``$XDG_CACHE_HOME`` respected)."""
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "kuorum" / self.cache_name

    def ensure(self, *, log: bool = True) -> Assets:
        """Return the binaries, building them into the cache first if they are missing."""
        override = os.environ.get(self.override)
        if override:
            assets = Assets(Path(override))
            missing = [name for name in self.binaries if not assets.path(name).is_file()]
            if missing:
                raise UserError(
                    f"{self.override}={override} lacks {', '.join(missing)}; point it at a "
                    f"directory holding {', '.join(self.binaries)}, or unset it to build them"
                )
            return assets
        assets = Assets(self.cache)
        if not all(assets.path(name).is_file() for name in self.binaries):
            self._build(assets.directory, log=log)
        return assets

    def _build(self, target: Path, *, log: bool) -> None:
        """Build the set into ``target`` (atomically: a half build is never used)."""
        if shutil.which("go") is None:
            raise UserError(
                f"Go is needed to build {self.what} once (or set {self.override} to a "
                "directory that has them); install Go >= 1.26"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
            work = Path(scratch)
            out = work / "bin"
            out.mkdir()
            if log:
                _say(
                    f"building {self.what} from the Go module proxy into {target} "
                    "(once; several minutes on 2 cores)"
                )
            for index, build in enumerate(self.builds):
                build(work / str(index), out, log)
            staged = work / "done"
            out.rename(staged)
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
        if log:
            _say(f"{self.what} ready in {target}")


def ensure_assets(*, log: bool = True) -> Assets:
    """The control-plane binaries (built into the cache first if missing)."""
    return CONTROL_PLANE.ensure(log=log)


def ensure_node_assets(*, log: bool = True) -> Assets:
    """The node's binaries (built into the cache first if missing)."""
    return NODE.ensure(log=log)


def _kubernetes(*commands: str) -> Callable[[Path, Path, bool], None]:
    """A build of ``commands`` (k8s.io/kubernetes/cmd/...) from a tools module.

    k8s.io/kubernetes requires its staging modules at v0.0.0, so the tools module
    replaces each of them with the matching published v0.x.y (listed from the release's
    own go.mod, never typed by hand).
    """
    packages = [f"k8s.io/kubernetes/cmd/{command}" for command in commands]

    def build(module: Path, out: Path, log: bool) -> None:
        minor = "v0." + KUBERNETES_VERSION.removeprefix("v1.")
        lines = ["module kuorum.io/tools/kubernetes", "", "go 1.26.0", ""]
        lines += [f"require k8s.io/kubernetes {KUBERNETES_VERSION}", ""]
        lines += [f"replace {name} => {name} {minor}" for name in _staging_modules()]
        _write_module(module, "\n".join(lines) + "\n", packages)
        version = KUBERNETES_VERSION.removeprefix("v").split(".")
        ldflags = " ".join(
            [
                "-s -w",
                f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
                f"-X k8s.io/component-base/version.gitMajor={version[0]}",
                f"-X k8s.io/component-base/version.gitMinor={version[1]}",
            ]
        )
        _go(module, ["mod", "tidy"], log=log, what="resolving Kubernetes modules")
        _go(
            module,
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(out) + "/", *packages],
            log=log,
            what="compiling " + ", ".join(commands),
            packages=packages,
        )

    return build


def _module_root(
    module_path: str, version: str, name: str, *packages: str, tags: str = ""
) -> Callable[[Path, Path, bool], None]:
    """A static build of ``packages`` of one Go module, required from a tools module.

    One package is written as ``out/name`` (go would name etcd's root package
    ``server``, after its import path); several keep go's names.
    """

    def build(module: Path, out: Path, log: bool) -> None:
        _write_module(
            module,
            f"module kuorum.io/tools/{name}\n\ngo 1.26.0\n\nrequire {module_path} {version}\n",
            list(packages),
        )
        _go(module, ["mod", "tidy"], log=log, what=f"resolving {name} modules")
        flags = ["-tags", tags] if tags else []
        target = str(out / name) if len(packages) == 1 else str(out) + "/"
        _go(
            module,
            ["build", "-trimpath", *flags, "-ldflags", "-s -w", "-o", target, *packages],
            log=log,
            what=f"compiling {name}",
            packages=list(packages),
            env={"CGO_ENABLED": "0"},
        )

    return build


def _staging_modules() -> list[str]:
    """List the k8s.io modules that k8s.io/kubernetes requires at v0.0.0."""
    url = f"{GO_PROXY}/k8s.io/kubernetes/@v/{KUBERNETES_VERSION}.mod"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed https URL)
        gomod = response.read().decode()
    names = {
        parts[0]
        for parts in (line.split() for line in gomod.splitlines())
        if len(parts) == 2 and parts[0].startswith("k8s.io/") and parts[1] == "v0.0.0"
    }
    return sorted(names)


def _write_module(module: Path, gomod: str, imports: list[str]) -> None:
    """Write a tools module whose tools.go keeps the wanted main packages required."""
    module.mkdir(parents=True)
    (module / "go.mod").write_text(gomod)
    body = "\n".join(f'\t_ "{name}"' for name in imports)
    (module / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{body}\n)\n")


def _go(
    module: Path,
    args: list[str],
    *,
    log: bool,
    what: str,
    packages: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Run one go command in ``module``; on failure show its output and stop.

    With ``packages`` (a build of them), say every PROGRESS_EVERY seconds how many of
    their dependencies are compiled (``go build -v`` names each as it is built) and
    about how long is left.
    """
    if log:
        _say(what + " ...")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod", **(env or {}))
    total = _dependencies(module, env, packages) if log and packages else None
    command = ["go", args[0], "-v", *args[1:]] if total else ["go", *args]
    process = subprocess.Popen(
        command, cwd=module, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    output: collections.deque[str] = collections.deque(maxlen=200)
    started = said = time.monotonic()
    for compiled, line in enumerate(process.stderr, start=1):
        output.append(line)
        now = time.monotonic()
        if total and now - said >= PROGRESS_EVERY:
            said = now
            _say(progress(what, compiled, total, now - started))
    if process.wait() != 0:
        tail = "".join(output)[-4000:]
        raise UserError(f"'go {' '.join(args[:2])}' failed while {what}:\n{tail}")


def _dependencies(module: Path, env: dict[str, str], packages: list[str]) -> int | None:
    """How many packages a build of ``packages`` compiles at most (None: unknown)."""
    listed = subprocess.run(
        ["go", "list", "-deps", *packages],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return len(listed.stdout.split()) if listed.returncode == 0 else None


def progress(what: str, compiled: int, total: int, elapsed: float) -> str:
    """One progress line: packages compiled of at most ``total``, time taken, time left
    at the pace so far (an upper bound: packages already in Go's cache are not rebuilt)."""
    left = elapsed / compiled * max(total - compiled, 0) if compiled else None
    estimate = f", at most about {_minutes(left)} left" if left is not None else ""
    return f"{what}: {compiled} of {total} packages after {_minutes(elapsed)}{estimate}"


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def _say(message: str) -> None:
    print(f"kuorum: {message}", file=sys.stderr, flush=True)


CONTROL_PLANE = BinarySet(
    what=f"Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION}",
    binaries=BINARIES,
    cache_name=f"control-plane/k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}",
    override="KUBEBUILDER_ASSETS",
    builds=(
        _kubernetes("kube-apiserver", "kube-controller-manager", "kubectl"),
        _module_root(
            "go.etcd.io/etcd/server/v3", ETCD_VERSION, "etcd", "go.etcd.io/etcd/server/v3"
        ),
    ),
)
NODE = BinarySet(
    what=(
        f"the node: kubelet {KUBERNETES_VERSION}, containerd {CONTAINERD_VERSION}, "
        f"CoreDNS {COREDNS_VERSION}"
    ),
    binaries=NODE_BINARIES,
    cache_name=(
        f"node/k8s-{KUBERNETES_VERSION}-containerd-{CONTAINERD_VERSION}-coredns-{COREDNS_VERSION}"
    ),
    override="KUORUM_NODE_ASSETS",
    builds=(
        _kubernetes("kubelet", "kube-scheduler", "kube-proxy"),
        _module_root(
            "github.com/containerd/containerd/v2",
            CONTAINERD_VERSION,
            "containerd",
            *(
                f"github.com/containerd/containerd/v2/cmd/{command}"
                for command in ("containerd", "containerd-shim-runc-v2", "ctr")
            ),
            tags="no_btrfs no_devmapper no_zfs",
        ),
        _module_root(
            "github.com/coredns/coredns", COREDNS_VERSION, "coredns", "github.com/coredns/coredns"
        ),
    ),
)


def main(argv: list[str] | None = None) -> int:
    """Build or find one set and print its directory."""
    chosen = NODE if "--node" in (sys.argv[1:] if argv is None else argv) else CONTROL_PLANE
    try:
        print(chosen.ensure().directory)
    except UserError as error:
        print(f"kuorum: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
