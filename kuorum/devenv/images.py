"""Build the dev stack's container images as OCI archives, without a Docker engine.

Each image is an OCI image-layout tar with one gzip layer, which
``ctr -n k8s.io images import <archive>`` loads into containerd:

- ``kuorum.local/pause:3.10``: the pod sandbox, ``pause.c`` compiled static, user 65535;
- ``kuorum.local/busybox:latest``: Debian's busybox-static, a ``/bin`` link per applet;
- ``kuorum.local/kuorum:<version>``: what ``Dockerfile`` describes.

The kuorum image reads the Dockerfile at build time, so the two cannot drift: the final
stage's ENV, USER, WORKDIR, ENTRYPOINT, CMD and LABELs become the image config; the
packages its ``apt-get install`` names are installed and the rest of that RUN (the
kuorum user, the state directory) runs in the new root file system; the wheel is built
from exactly the git-tracked files the builder stage COPYs, minus ``.dockerignore``.
What it cannot read, and does differently:

- no ``python:3.11.x-slim-bookworm`` base: mmdebstrap builds Debian bookworm's essential
  set plus ``python3-venv`` (Debian's Python 3.11 in /usr/bin, not one built into
  /usr/local) and ``passwd`` (the groupadd/useradd the slim image has), merged /usr
  as in Debian's images, from deb.debian.org with bookworm-updates and -security;
- the builder stage runs on the host: ``pip wheel`` with this interpreter (so it must be
  Python 3.11 on glibc, like bookworm), then the venv is made and filled, from those
  wheels only, inside the new root file system;
- no apt, documentation (copyright files stay), man pages or locales; the base image's
  LANG, GPG_KEY and PYTHON_VERSION are not set (Python's PEP 538 covers the C locale);
- every .pyc is checked-hash, so the fixed file times of the layer never make them stale.

Archives are cached by content, ``~/.cache/kuorum/images/<name>-<16 hex>.tar``: the
digest covers this file and the image's inputs (pause.c; the busybox .deb; the files the
Dockerfile copies, the Dockerfile and .dockerignore), so a second build is a lookup.

    python -m kuorum.devenv.images     # build (or find) all three, print "reference archive"
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kuorum.errors import UserError

REPOSITORY = Path(__file__).resolve().parents[2]
DOCKERFILE = REPOSITORY / "Dockerfile"
DOCKERIGNORE = REPOSITORY / ".dockerignore"
PAUSE_SOURCE = Path(__file__).with_name("pause.c")
REGISTRY = "kuorum.local"
PAUSE_REFERENCE = f"{REGISTRY}/pause:3.10"
BUSYBOX_REFERENCE = f"{REGISTRY}/busybox:latest"
BUSYBOX_PACKAGE = "busybox-static"
SUITE = "bookworm"
SOURCES = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
BASE_PACKAGES = ("python3-venv", "passwd")
"""What the python slim base image brings that the Dockerfile relies on: Python with
venv, and groupadd/useradd."""
MERGED_USR_HOOKS = Path("/usr/share/mmdebstrap/hooks/merged-usr")
"""mmdebstrap's hooks for a merged /usr via usr-is-merged, as Debian's own images; without
them init-system-helpers' ``usrmerge | usr-is-merged`` brings usrmerge and perl (60 MB)."""
HOST_PYTHON = (3, 11)
"""Bookworm's Python: the host's ``pip wheel`` must pick wheels for it."""
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = 0
"""Modification time of every layer member, so equal inputs give equal digests."""
TRIMMED = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
)
"""dpkg filters: what the kuorum image leaves out (licences stay)."""
WHEELS_INSIDE = "/tmp/kuorum-wheels"  # noqa: S108 (inside the new root, not this host)
OUTPUT_TAIL = 4000
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}

INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
NAME_ANNOTATION = "io.containerd.image.name"
TAG_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Image:
    """A built image: its reference and the OCI archive ``ctr images import`` takes."""

    reference: str
    archive: Path
    aliases: tuple[str, ...] = ()
    """More names for the same image, tagged after the import."""


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an OCI image config (``config`` in the config blob)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (f"PATH={DEFAULT_PATH}",)
    user: str = ""
    working_dir: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Entry:
    """One member of a layer written from Python: a file (data), symlink (link) or dir."""

    path: str
    mode: int = 0o755
    data: bytes | None = None
    link: str | None = None


@dataclass(frozen=True)
class Recipe:
    """What the Dockerfile says the kuorum image is."""

    sources: tuple[str, ...]
    """What the builder stage COPYs from the build context."""
    venv: str
    """Where the builder makes the virtualenv the final stage copies."""
    build_env: dict[str, str]
    packages: tuple[str, ...]
    """What the final stage's ``apt-get install`` names."""
    setup: tuple[str, ...]
    """The final stage's other RUN commands (user, state directory), in order."""
    config: ImageConfig = field(default_factory=ImageConfig)


# --- the three images ------------------------------------------------------------------


def pause() -> Image:
    """The pod sandbox image: a static ``/pause``."""
    return _cached("pause", PAUSE_REFERENCE, [PAUSE_SOURCE.read_bytes()], _build_pause)


def busybox() -> Image:
    """A shell and coreutils for test pods, from the busybox-static .deb apt offers now."""
    deb = _busybox_deb()
    image = _cached(
        "busybox", BUSYBOX_REFERENCE, [deb.read_bytes()], lambda s: _build_busybox(s, deb)
    )
    return replace(image, aliases=(busybox_alias(deb.name),))


def busybox_alias(deb_name: str) -> str:
    """The Docker Hub name of the same busybox release (``busybox:1.35`` for Debian's
    ``busybox-static_1%3a1.35.0-4+b3_amd64.deb``), so examples that name ``busybox:1.35``
    run on the local node and on any cluster that pulls from Docker Hub."""
    found = re.search(r"_(?:\d+%3a)?(\d+\.\d+)\.", deb_name)
    if not found:
        raise UserError(f"cannot read the busybox version from {deb_name!r}")
    return f"docker.io/library/busybox:{found.group(1)}"


def kuorum() -> Image:
    """The Kuorum image, as the Dockerfile describes it."""
    version = project_version()
    recipe = read_recipe(DOCKERFILE.read_text(), version)
    files = context_files(recipe.sources)
    inputs = [DOCKERFILE.read_bytes(), DOCKERIGNORE.read_bytes(), *_file_inputs(files)]
    reference = f"{REGISTRY}/kuorum:{version}"
    return _cached(
        "kuorum", reference, inputs, lambda s: _build_kuorum(s, reference, recipe, files)
    )


def build_all() -> list[Image]:
    """Every image the dev stack runs: pause, busybox, kuorum."""
    return [pause(), busybox(), kuorum()]


def cache_directory() -> Path:
    """Where the archives are kept (``$XDG_CACHE_HOME`` respected)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kuorum" / "images"


def _cached(
    name: str, reference: str, inputs: Sequence[bytes], build: Callable[[Path], Path]
) -> Image:
    """Return the archive for these inputs, building it first if it is not cached.

    ``build`` writes the archive inside a scratch directory; it is renamed into place
    whole, so a failed or interrupted build is never picked up.
    """
    key = _digest([Path(__file__).read_bytes(), reference.encode(), *inputs])[:16]
    archive = cache_directory() / f"{name}-{key}.tar"
    if archive.is_file():
        return Image(reference, archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    _say(f"building {reference} ...")
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(dir=archive.parent, prefix=f".build-{name}-"))
    try:
        build(scratch).rename(archive)
    finally:
        _remove_tree(scratch)
    _prune(archive, name)
    size = archive.stat().st_size / 1e6
    _say(f"{reference}: {archive} ({size:.1f} MB, {time.monotonic() - started:.0f}s)")
    return Image(reference, archive)


def _prune(keep: Path, name: str) -> None:
    """Delete this image's archives for older inputs (the kuorum one is large)."""
    for old in keep.parent.glob(f"{name}-*.tar"):
        if old != keep and re.fullmatch(rf"{name}-[0-9a-f]{{16}}\.tar", old.name):
            old.unlink()


# --- pause -----------------------------------------------------------------------------


def _build_pause(scratch: Path) -> Path:
    binary = compile_pause(scratch / "pause")
    layer = scratch / "layer.tar"
    write_layer([Entry("pause", 0o755, data=binary.read_bytes())], layer)
    # As registry.k8s.io/pause: a numeric non-root user; reaping children needs no root.
    config = ImageConfig(entrypoint=("/pause",), user="65535:65535")
    return _archive(scratch, layer, config, PAUSE_REFERENCE)


def compile_pause(out: Path) -> Path:
    """Compile pause.c into a static, stripped binary (deterministic for one gcc)."""
    _need("gcc", "apt-get install gcc libc6-dev")
    _run(
        ["gcc", "-Os", "-static", "-s", "-o", str(out), str(PAUSE_SOURCE)],
        what="compiling pause.c",
    )
    return out


# --- busybox ---------------------------------------------------------------------------

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"


def _build_busybox(scratch: Path, deb: Path) -> Path:
    binary = _extract_busybox(deb, scratch / "deb")
    layer = scratch / "layer.tar"
    write_layer(busybox_entries(binary.read_bytes(), applets(binary)), layer)
    return _archive(scratch, layer, ImageConfig(cmd=("sh",)), BUSYBOX_REFERENCE)


def busybox_entries(binary: bytes, names: Iterable[str]) -> list[Entry]:
    """The busybox root file system: the binary, a /bin link per applet, /tmp, users."""
    entries = [Entry("bin/busybox", 0o755, data=binary)]
    entries += [
        Entry(f"bin/{name}", 0o777, link="busybox")
        for name in sorted(set(names))
        if name != "busybox" and re.fullmatch(r"[\w.\[-]+", name)
    ]
    entries += [
        Entry("tmp", 0o1777),
        Entry("root", 0o700),
        Entry("etc/passwd", 0o644, data=PASSWD),
        Entry("etc/group", 0o644, data=GROUP),
    ]
    return entries


def applets(binary: Path) -> list[str]:
    """The commands this busybox implements (``busybox --list``)."""
    listed = _run([str(binary), "--list"], what="listing busybox applets")
    return listed.split()


def _busybox_deb() -> Path:
    """The busybox-static .deb apt would install now, downloaded once into the cache.

    Always the .deb, never the host's /bin/busybox, so the image does not depend on
    what this machine has installed.
    """
    _need("apt-get", "build on Debian or Ubuntu, whose apt-get downloads busybox-static")
    listed = _run(
        ["apt-get", "download", "--print-uris", BUSYBOX_PACKAGE],
        what=f"asking apt for {BUSYBOX_PACKAGE} (run apt-get update if it is unknown)",
    ).split()
    if len(listed) < 4 or not listed[3].startswith("SHA256:"):
        raise UserError(
            f"apt-get download --print-uris {BUSYBOX_PACKAGE} printed {' '.join(listed)!r}, "
            "not a URL, file name, size and SHA256; run apt-get update and retry"
        )
    filename, checksum = listed[1], listed[3].removeprefix("SHA256:")
    target = cache_directory() / "debs" / filename
    if target.is_file() and _sha256_file(target) == checksum:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as scratch:
        _run(["apt-get", "download", BUSYBOX_PACKAGE], what="downloading busybox", cwd=scratch)
        (downloaded,) = Path(scratch).glob("*.deb")
        if _sha256_file(downloaded) != checksum:
            raise UserError(f"{downloaded.name} does not match apt's SHA256; retry")
        downloaded.rename(target)
    return target


def _extract_busybox(deb: Path, into: Path) -> Path:
    _need("dpkg-deb", "apt-get install dpkg")
    _run(["dpkg-deb", "-x", str(deb), str(into)], what=f"unpacking {deb.name}")
    for candidate in ("bin/busybox", "usr/bin/busybox"):
        if (into / candidate).is_file():
            return into / candidate
    raise UserError(f"{deb.name} holds no bin/busybox; is it {BUSYBOX_PACKAGE}?")


# --- kuorum: the Dockerfile ------------------------------------------------------------


def project_version() -> str:
    """The version pyproject.toml declares: the image tag and its version label."""
    with (REPOSITORY / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, value): continuations joined, comments gone."""
    out: list[tuple[str, str]] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        keyword, _, value = (buffer + line).partition(" ")
        out.append((keyword.upper(), value.strip()))
        buffer = ""
    return out


def read_recipe(text: str, version: str) -> Recipe:
    """Read the kuorum image from a Dockerfile: builder sources, packages, config."""
    stages = _stages(instructions(text))
    if len(stages) < 2:
        raise UserError("Dockerfile has no builder stage; images.py expects builder + runtime")
    builder, final = stages[0], stages[-1]
    variables = {"PATH": DEFAULT_PATH, **_stage_args(final, version)}
    env: dict[str, str] = {}
    labels: dict[str, str] = {}
    packages: list[str] = []
    setup: list[str] = []
    config: dict[str, Any] = {}
    for keyword, value in final[1:]:
        if keyword == "ENV":
            assigned = dict(_assignments(value, {**variables, **env}))
            env.update(assigned)
        elif keyword == "LABEL":
            labels.update(_assignments(value, {**variables, **env}))
        elif keyword == "RUN":
            _split_run(value, packages, setup)
        elif keyword in {"USER", "WORKDIR"}:
            config[keyword] = _expand(value, {**variables, **env})
        elif keyword in {"ENTRYPOINT", "CMD"}:
            config[keyword] = _command(value)
        elif keyword == "COPY":
            _check_final_copy(value, _venv(builder))
        elif keyword not in {"ARG"}:
            raise UserError(f"images.py cannot mirror the Dockerfile's {keyword} {value}")
    merged = {"PATH": DEFAULT_PATH, **env}
    return Recipe(
        sources=_builder_sources(builder),
        venv=_venv(builder),
        build_env=dict(_assignments_of(builder, "ENV")),
        packages=tuple(packages),
        setup=tuple(setup),
        config=ImageConfig(
            entrypoint=tuple(config.get("ENTRYPOINT", ())),
            cmd=tuple(config.get("CMD", ())),
            env=tuple(f"{name}={value}" for name, value in merged.items()),
            user=config.get("USER", ""),
            working_dir=config.get("WORKDIR", ""),
            labels=tuple(labels.items()),
        ),
    )


def mmdebstrap_includes(recipe: Recipe) -> list[str]:
    """Packages on top of Debian's essential set: the base image's, then the Dockerfile's."""
    return list(dict.fromkeys([*BASE_PACKAGES, *recipe.packages]))


def _stages(parsed: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _stage_args(stage: list[tuple[str, str]], version: str) -> dict[str, str]:
    """The stage's ARG defaults, with VERSION set from pyproject (as a --build-arg)."""
    args = {}
    for keyword, value in stage:
        if keyword == "ARG":
            name, _, default = value.partition("=")
            args[name] = default
    return {**args, "VERSION": version} if "VERSION" in args else args


def _assignments(value: str, variables: dict[str, str]) -> list[tuple[str, str]]:
    """``KEY=value`` pairs of ENV or LABEL, quotes removed and variables expanded."""
    pairs = []
    for token in shlex.split(value):
        name, equals, raw = token.partition("=")
        if not equals:
            raise UserError(f"images.py reads only KEY=value forms, not {value!r}")
        pairs.append((name, _expand(raw, variables)))
    return pairs


def _assignments_of(stage: list[tuple[str, str]], keyword: str) -> list[tuple[str, str]]:
    return [pair for key, value in stage if key == keyword for pair in _assignments(value, {})]


def _expand(value: str, variables: dict[str, str]) -> str:
    """Expand ``$NAME`` and ``${NAME}`` as Docker does; an unknown one is a drift."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise UserError(
                f"the Dockerfile uses ${name}, which images.py does not know; "
                "add it to kuorum/devenv/images.py"
            )
        return variables[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, value)


def _command(value: str) -> list[str]:
    """ENTRYPOINT/CMD: the exec form, or the shell form as Docker wraps it."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return ["/bin/sh", "-c", value]
    if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
        return ["/bin/sh", "-c", value]
    return parsed


def _split_run(value: str, packages: list[str], setup: list[str]) -> None:
    """Sort one RUN's commands: apt-get (its packages kept), and the rest."""
    for command in (part.strip() for part in value.split("&&")):
        words = shlex.split(command)
        if words and words[0] == "apt-get":
            if "install" in words:
                after = words[words.index("install") + 1 :]
                packages += [w for w in after if not w.startswith("-")]
        elif command:
            setup.append(command)


def _venv(builder: list[tuple[str, str]]) -> str:
    runs = " ".join(value for keyword, value in builder if keyword == "RUN")
    found = re.search(r"-m venv (\S+)", runs)
    if not found:
        raise UserError("the Dockerfile's builder makes no venv (python -m venv <dir>)")
    return found.group(1)


def _check_final_copy(value: str, venv: str) -> None:
    if value.split() != ["--from=builder", venv, venv]:
        raise UserError(
            f"the Dockerfile's final stage copies {value!r}; images.py mirrors only the "
            f"builder's {venv}; teach kuorum/devenv/images.py the new COPY"
        )


def _builder_sources(builder: list[tuple[str, str]]) -> tuple[str, ...]:
    sources: list[str] = []
    for keyword, value in builder:
        if keyword == "COPY":
            parts = value.split()
            sources += [p.rstrip("/") for p in parts[:-1] if not p.startswith("--")]
    return tuple(sources)


# --- kuorum: the build context ---------------------------------------------------------


def context_files(sources: Sequence[str]) -> list[str]:
    """The git-tracked files the builder COPYs that .dockerignore keeps, sorted."""
    _need("git", "apt-get install git")
    listed = subprocess.run(
        ["git", "-C", str(REPOSITORY), "ls-files", "-z", "--", *sources],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        raise UserError(
            f"git ls-files failed in {REPOSITORY} ({listed.stderr.decode().strip()}); "
            "the kuorum image is built from a git checkout"
        )
    patterns = _dockerignore()
    paths = {p for p in listed.stdout.decode().split("\0") if p}
    return sorted(p for p in paths if os.path.lexists(REPOSITORY / p) and not _ignored(p, patterns))


def _dockerignore() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; ``!`` re-includes."""
    result = False
    for pattern in patterns:
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            result = not pattern.startswith("!")
    return result


def _file_inputs(files: Sequence[str]) -> list[bytes]:
    """Each file's path and bytes (a symlink: its target), for the cache digest."""
    out = []
    for name in files:
        path = REPOSITORY / name
        body = b"L" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        executable = b"x" if os.access(path, os.X_OK) and not path.is_symlink() else b"-"
        out += [name.encode(), executable + body]
    return out


def _stage_context(files: Sequence[str], into: Path) -> Path:
    """Copy exactly ``files`` (symlinks as symlinks) into a fresh build context."""
    for name in files:
        origin, target = REPOSITORY / name, into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        else:
            shutil.copy2(origin, target)
    return into


# --- kuorum: the build -----------------------------------------------------------------


def _build_kuorum(scratch: Path, reference: str, recipe: Recipe, files: list[str]) -> Path:
    _check_host()
    context = _stage_context(files, scratch / "context")
    wheels = _wheels(context, scratch / "wheels")
    rootfs = scratch / "rootfs"
    _say(f"installing Debian {SUITE} with {', '.join(mmdebstrap_includes(recipe))} ...")
    _run(
        mmdebstrap_command(rootfs, wheels, recipe),
        what="building the kuorum root file system with mmdebstrap",
        env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)),
    )
    _trim(rootfs)
    layer = scratch / "layer.tar"
    _say("packing the layer ...")
    _tar_rootfs(rootfs, layer)
    return _archive(scratch, layer, recipe.config, reference)


def _check_host() -> None:
    """Root for mmdebstrap's root mode (and the uid 65532 files); this Python for wheels."""
    _need("mmdebstrap", "apt-get install mmdebstrap")
    if os.geteuid() != 0:
        raise UserError(
            "building kuorum.local/kuorum runs mmdebstrap --mode=root and keeps files owned "
            "by uid 65532; run it as root (sudo make image)"
        )
    if sys.version_info[:2] != HOST_PYTHON:
        wanted = ".".join(map(str, HOST_PYTHON))
        raise UserError(
            f"the kuorum image's wheels are built with this Python for {SUITE}'s Python "
            f"{wanted}; run with a Python {wanted} virtualenv (make setup PYTHON=python{wanted})"
        )


def _wheels(context: Path, out: Path) -> Path:
    """The builder stage's ``pip wheel``: kuorum and every dependency, as wheels."""
    _say("building wheels (pip wheel) ...")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(out), "."],
        what="building the kuorum wheel and its dependencies (pip wheel)",
        cwd=context,
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    return out


def mmdebstrap_command(rootfs: Path, wheels: Path, recipe: Recipe) -> list[str]:
    """mmdebstrap with hooks doing what the Dockerfile's two stages do."""
    trims = [f"--dpkgopt={option}" for option in TRIMMED]
    hooks = [f"--customize-hook={hook}" for hook in _hooks(wheels, recipe)]
    return [
        "mmdebstrap",
        "--mode=root",
        "--variant=essential",
        "--format=directory",
        f"--include={','.join(mmdebstrap_includes(recipe))}",
        f"--hook-dir={MERGED_USR_HOOKS}",
        *trims,
        *hooks,
        SUITE,
        str(rootfs),
        *SOURCES,
    ]


def _hooks(wheels: Path, recipe: Recipe) -> list[str]:
    """Customize hooks (run by sh with the root file system as $1), in order."""
    venv = recipe.venv
    build = _chroot({**recipe.build_env, "SOURCE_DATE_EPOCH": str(EPOCH)})
    workdir = recipe.config.working_dir
    return [
        f'cp -R {shlex.quote(str(wheels))} "$1{WHEELS_INSIDE}"',
        f"{build} python3 -m venv {venv}",
        f"{build} {venv}/bin/pip install --no-index --find-links {WHEELS_INSIDE} kuorum",
        f"{build} {venv}/bin/pip uninstall --yes pip",
        f'rm -rf "$1{WHEELS_INSIDE}"',
        *(f"{build} sh -c {shlex.quote(command)}" for command in recipe.setup),
        *([f'mkdir -p "$1{workdir}"'] if workdir else []),
        f"{build} sh -c {shlex.quote(_recompile(venv))}",
        f"{build} {venv}/bin/kuorum --version",
        _smoke_test(recipe.config),
        'rm -f "$1/etc/resolv.conf" "$1/etc/hostname"',
    ]


def _chroot(env: dict[str, str]) -> str:
    """``chroot "$1" env -i ...``: commands in the new root see none of the host's env."""
    base = {"PATH": DEFAULT_PATH, "HOME": "/root", "LC_ALL": "C.UTF-8", **env}
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in base.items())
    return f'chroot "$1" env -i {assignments}'


def _smoke_test(config: ImageConfig) -> str:
    """Run ENTRYPOINT + CMD as the image would: its USER, WORKDIR and Env only.

    ``kuorum --help`` registers every command, so every component is imported and
    pysodium finds libsodium; ``--version`` (the Dockerfile's check) imports neither.
    """
    uid, _, gid = config.user.partition(":")
    spec = f" --userspec={uid}:{gid or uid}" if uid else ""
    command = shlex.join([*config.entrypoint, *config.cmd])
    script = f"cd {shlex.quote(config.working_dir or '/')} && exec {command} >/dev/null"
    env = " ".join(shlex.quote(variable) for variable in config.env)
    return f'chroot{spec} "$1" env -i {env} sh -c {shlex.quote(script)}'


def _recompile(venv: str) -> str:
    """Rewrite every .pyc as checked-hash: the layer's fixed mtimes never make one stale."""
    return (
        "python3 -m compileall -q -f -j0 --invalidation-mode checked-hash "
        f"/usr/lib/python3* {venv}/lib >/dev/null"
    )


def _trim(rootfs: Path) -> None:
    """Empty what the runtime provides or rewrites anyway (/dev, /proc, /sys, /run, /tmp)
    and drop logs and *-old backups that only record this build."""
    for directory in ("dev", "proc", "sys", "run", "tmp"):
        for child in (rootfs / directory).glob("*"):
            _remove_any(child)
    for pattern in ("var/log/**/*.log", "var/cache/debconf/*-old", "var/lib/dpkg/*-old"):
        for found in rootfs.glob(pattern):
            _remove_any(found)


def _tar_rootfs(rootfs: Path, out: Path) -> None:
    """Pack a root file system with its real numeric owners, sorted, at mtime EPOCH."""
    members = sorted(os.listdir(rootfs))
    _run(
        [
            "tar",
            "--create",
            f"--file={out}",
            f"--directory={rootfs}",
            "--format=gnu",
            "--sort=name",
            "--numeric-owner",
            f"--mtime=@{EPOCH}",
            "--",
            *members,
        ],
        what="packing the kuorum root file system",
    )


# --- OCI image layout ------------------------------------------------------------------


def write_layer(entries: Iterable[Entry], out: Path) -> None:
    """A reproducible layer tar: sorted, parents included, owner 0:0, mtime EPOCH."""
    members = {entry.path: entry for entry in entries}
    for path in list(members):
        for parent in Path(path).parents:
            if str(parent) != ".":
                members.setdefault(str(parent), Entry(str(parent)))
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as archive:
        for path in sorted(members):
            entry = members[path]
            info = tarfile.TarInfo(path)
            info.mode, info.mtime, info.uid, info.gid = entry.mode, EPOCH, 0, 0
            if entry.link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, entry.link
            elif entry.data is not None:
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
                continue
            else:
                info.type = tarfile.DIRTYPE
            archive.addfile(info)


def write_archive(layer: Path, config: ImageConfig, reference: str, out: Path) -> str:
    """Write an OCI image-layout tar of one gzip layer; return the manifest digest."""
    diff_id = "sha256:" + _sha256_file(layer)
    compressed = out.with_name(out.name + ".layer.gz")
    _gzip(layer, compressed)
    layer_blob = _descriptor(LAYER_TYPE, "sha256:" + _sha256_file(compressed), compressed)
    config_blob = _json(_config_document(config, diff_id))
    config_descriptor = _descriptor(CONFIG_TYPE, _blob_digest(config_blob), config_blob)
    manifest_blob = _json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": config_descriptor,
            "layers": [layer_blob],
        }
    )
    manifest = _descriptor(MANIFEST_TYPE, _blob_digest(manifest_blob), manifest_blob)
    _, _, tag = reference.rpartition(":")
    manifest["annotations"] = {NAME_ANNOTATION: reference, TAG_ANNOTATION: tag}
    manifest["platform"] = {"architecture": _architecture(), "os": "linux"}
    index = _json({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [manifest]})
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as archive:
        for directory in ("blobs", "blobs/sha256"):
            _add(archive, directory, None)
        for blob in (config_blob, manifest_blob):
            _add(archive, _blob_path(_blob_digest(blob)), blob)
        _add(archive, _blob_path(layer_blob["digest"]), compressed)
        _add(archive, "index.json", index)
        _add(archive, "oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
    compressed.unlink()
    return str(manifest["digest"])


def _archive(scratch: Path, layer: Path, config: ImageConfig, reference: str) -> Path:
    out = scratch / "image.tar"
    write_archive(layer, config, reference, out)
    return out


def _config_document(config: ImageConfig, diff_id: str) -> dict[str, Any]:
    runtime: dict[str, Any] = {"Env": list(config.env)}
    for key, value in (
        ("Entrypoint", list(config.entrypoint)),
        ("Cmd", list(config.cmd)),
        ("User", config.user),
        ("WorkingDir", config.working_dir),
        ("Labels", dict(config.labels)),
    ):
        if value:
            runtime[key] = value
    return {
        "architecture": _architecture(),
        "os": "linux",
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }


def _descriptor(media_type: str, digest: str, content: bytes | Path) -> dict[str, Any]:
    size = content.stat().st_size if isinstance(content, Path) else len(content)
    return {"mediaType": media_type, "digest": digest, "size": size}


def _add(archive: tarfile.TarFile, name: str, content: bytes | Path | None) -> None:
    """Add a directory (None), bytes or a file, owner 0:0 at mtime EPOCH."""
    info = tarfile.TarInfo(name)
    info.mtime, info.mode = EPOCH, 0o644
    if content is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(info)
    elif isinstance(content, Path):
        info.size = content.stat().st_size
        with content.open("rb") as handle:
            archive.addfile(info, handle)
    else:
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))


def _gzip(source: Path, out: Path) -> None:
    """gzip without a name or time in the header, so equal input gives equal bytes."""
    with (
        source.open("rb") as raw,
        out.open("wb") as sink,
        gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0) as packed,
    ):
        shutil.copyfileobj(raw, packed, 1 << 20)


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _blob_digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")


def _architecture() -> str:
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        raise UserError(f"images are built for {', '.join(ARCHITECTURES)} hosts, not {machine}")
    return ARCHITECTURES[machine]


# --- helpers ---------------------------------------------------------------------------


def _digest(parts: Iterable[bytes]) -> str:
    """sha256 over length-prefixed parts (so no two input lists collide)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _need(program: str, fix: str) -> None:
    if shutil.which(program) is None:
        raise UserError(f"building the dev images needs {program}, which is missing; {fix}")


def _run(
    command: list[str],
    *,
    what: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run one command; return its stdout, or stop with the tail of its output."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-OUTPUT_TAIL:]
        raise UserError(f"{what} failed ({command[0]} exited {done.returncode}):\n{tail}")
    return done.stdout


def _remove_tree(path: Path) -> None:
    """Delete a scratch directory, but never through a mount a failed build left behind."""
    if not path.exists():
        return
    mounted = [m for m in _mount_points() if m == path or path in m.parents]
    if mounted:
        raise UserError(
            f"{mounted[0]} is still mounted (a failed mmdebstrap?); umount it, then delete {path}"
        )
    shutil.rmtree(path)


def _mount_points() -> list[Path]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    return [Path(line.split()[4].replace("\\040", " ")) for line in lines]


def _remove_any(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _say(message: str) -> None:
    print(f"kuorum: {message}", file=sys.stderr, flush=True)


def main() -> int:
    """Build or find every image and print ``reference archive`` per line."""
    try:
        for image in build_all():
            print(image.reference, image.archive)
    except UserError as error:
        print(f"kuorum: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
