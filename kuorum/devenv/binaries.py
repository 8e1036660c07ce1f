"""Find or build the control-plane binaries: etcd, kube-apiserver, kube-controller-manager.

kubectl of the same release comes along, as in envtest's asset directory, so tests and
the demo never depend on whatever client version the machine happens to have.

Like controller-runtime's envtest, ``$KUBEBUILDER_ASSETS`` wins when set. Otherwise the
binaries are built once from the Go module proxy, each project from its own small tools
module (so version selection never mixes their dependencies), into a cache outside the
repository that every later run reuses.

    python -m kuorum.devenv.binaries      # build (or find) them and print the directory
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
from dataclasses import dataclass
from pathlib import Path

from kuorum.errors import UserError

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")
GO_PROXY = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0]
PROGRESS_EVERY = 30.0
"""Seconds between progress lines of a long build (about five minutes cold on 2 cores)."""


@dataclass(frozen=True)
class Assets:
    """Where the three binaries are."""

    directory: Path

    @property
    def kubectl(self) -> Path:
        """kubectl of the same Kubernetes release as the apiserver."""
        return self.path("kubectl")

    def path(self, name: str) -> Path:
        """Return the path of one binary."""
        return self.directory / name


def cache_directory() -> Path:
    """Return the versioned cache directory (``$XDG_CACHE_HOME`` respected)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kuorum" / "control-plane" / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}"


def ensure_assets(*, log: bool = True) -> Assets:
    """Return the binaries, building them into the cache first if they are missing."""
    override = os.environ.get("KUBEBUILDER_ASSETS")
    if override:
        assets = Assets(Path(override))
        missing = [name for name in BINARIES if not assets.path(name).is_file()]
        if missing:
            raise UserError(
                f"KUBEBUILDER_ASSETS={override} lacks {', '.join(missing)}; "
                "point it at a directory holding etcd, kube-apiserver and "
                "kube-controller-manager and kubectl, or unset it to build them"
            )
        return assets
    assets = Assets(cache_directory())
    if all(assets.path(name).is_file() for name in BINARIES):
        return assets
    _build(assets.directory, log=log)
    return assets


def _build(target: Path, *, log: bool) -> None:
    """Build all three binaries into ``target`` (atomically: a half build is never used)."""
    if shutil.which("go") is None:
        raise UserError(
            "Go is needed to build etcd and kube-apiserver once (or set KUBEBUILDER_ASSETS "
            "to a directory that has them); install Go >= 1.26"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        work = Path(scratch)
        out = work / "bin"
        out.mkdir()
        if log:
            _say(
                f"building Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION} from the "
                f"Go module proxy into {target} (once; several minutes on 2 cores)"
            )
        _build_kubernetes(work / "k8s", out, log=log)
        _build_etcd(work / "etcd", out, log=log)
        staged = work / "done"
        out.rename(staged)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    if log:
        _say(f"control-plane binaries ready in {target}")


def _build_kubernetes(module: Path, out: Path, *, log: bool) -> None:
    """Build kube-apiserver, kube-controller-manager and kubectl from a tools module.

    k8s.io/kubernetes requires its staging modules at v0.0.0, so the tools module
    replaces each of them with the matching published v0.x.y (listed from the release's
    own go.mod, never typed by hand).
    """
    minor = "v0." + KUBERNETES_VERSION.removeprefix("v1.")
    staging = _staging_modules(KUBERNETES_VERSION)
    lines = [
        "module kuorum.io/tools/kubernetes",
        "",
        "go 1.26.0",
        "",
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}",
        "",
    ]
    lines += [f"replace {name} => {name} {minor}" for name in staging]
    _write_module(
        module,
        "\n".join(lines) + "\n",
        [
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kubectl",
        ],
    )
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
    commands = [
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kubectl",
    ]
    _go(
        module,
        ["build", "-trimpath", "-ldflags", ldflags, "-o", str(out) + "/", *commands],
        log=log,
        what="compiling kube-apiserver, kube-controller-manager and kubectl",
        packages=commands,
    )


def _build_etcd(module: Path, out: Path, *, log: bool) -> None:
    """Build etcd; its main package is the root of go.etcd.io/etcd/server/v3."""
    _write_module(
        module,
        "module kuorum.io/tools/etcd\n\ngo 1.26.0\n\n"
        f"require go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n",
        ["go.etcd.io/etcd/server/v3"],
    )
    _go(module, ["mod", "tidy"], log=log, what="resolving etcd modules")
    _go(
        module,
        [
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(out / "etcd"),
            "go.etcd.io/etcd/server/v3",
        ],
        log=log,
        what="compiling etcd",
        packages=["go.etcd.io/etcd/server/v3"],
    )


def _staging_modules(version: str) -> list[str]:
    """List the k8s.io modules that k8s.io/kubernetes requires at v0.0.0."""
    url = f"{GO_PROXY}/k8s.io/kubernetes/@v/{version}.mod"
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
    module: Path, args: list[str], *, log: bool, what: str, packages: list[str] | None = None
) -> None:
    """Run one go command in ``module``; on failure show its output and stop.

    With ``packages`` (a build of them), say every PROGRESS_EVERY seconds how many of
    their dependencies are compiled (``go build -v`` names each as it is built) and
    about how long is left.
    """
    if log:
        _say(what + " ...")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
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


def main() -> int:
    """Build or find the binaries and print their directory."""
    try:
        print(ensure_assets().directory)
    except UserError as error:
        print(f"kuorum: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
