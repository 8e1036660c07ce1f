"""The dev images are valid OCI archives, reproducible, and follow the Dockerfile.

Nothing here runs mmdebstrap (minutes, and root): the kuorum image's recipe is checked
against the Dockerfile instead; the OCI writer is checked on tiny layers, and the pause
image (gcc, a second) is built for real.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from test_dockerfile import RUNTIME, in_stage

from kuorum.devenv import images
from kuorum.errors import UserError

REFERENCE = "kuorum.local/tiny:1.2.3"


def tiny_layer(path: Path) -> Path:
    entries = [
        images.Entry("bin/hello", 0o755, data=b"#!/bin/sh\necho hello\n"),
        images.Entry("bin/hi", 0o777, link="hello"),
        images.Entry("tmp", 0o1777),
    ]
    images.write_layer(entries, path)
    return path


def read_layout(archive: Path) -> dict[str, Any]:
    """Open an OCI archive, checking every digest and size on the way down."""
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}

    def blob(descriptor: dict[str, Any]) -> bytes:
        algorithm, _, hexdigest = descriptor["digest"].partition(":")
        content = files[f"blobs/{algorithm}/{hexdigest}"]
        assert hashlib.sha256(content).hexdigest() == hexdigest
        assert len(content) == descriptor["size"]
        return content

    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2
    (descriptor,) = index["manifests"]
    assert descriptor["mediaType"] == images.MANIFEST_TYPE
    manifest = json.loads(blob(descriptor))
    config = json.loads(blob(manifest["config"]))
    (layer_descriptor,) = manifest["layers"]
    assert layer_descriptor["mediaType"] == images.LAYER_TYPE
    layer = gzip.decompress(blob(layer_descriptor))
    assert config["rootfs"] == {
        "type": "layers",
        "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()],
    }
    return {"descriptor": descriptor, "config": config, "layer": layer}


def layer_members(layer: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return {m.name: m for m in tar.getmembers()}


# --- the OCI writer --------------------------------------------------------------------


def test_layout_chains_index_manifest_config_and_layer(tmp_path: Path) -> None:
    config = images.ImageConfig(entrypoint=("/bin/hello",), cmd=("x",), user="1:2")
    digest = images.write_archive(
        tiny_layer(tmp_path / "layer.tar"), config, REFERENCE, tmp_path / "image.tar"
    )
    layout = read_layout(tmp_path / "image.tar")
    assert layout["descriptor"]["digest"] == digest
    assert layout["descriptor"]["annotations"] == {
        "io.containerd.image.name": REFERENCE,
        "org.opencontainers.image.ref.name": "1.2.3",
    }
    image_config = layout["config"]
    assert (image_config["architecture"], image_config["os"]) == ("amd64", "linux")
    assert image_config["config"] == {
        "Entrypoint": ["/bin/hello"],
        "Cmd": ["x"],
        "User": "1:2",
        "Env": [f"PATH={images.DEFAULT_PATH}"],
    }
    assert not list(tmp_path.glob("*.gz")), "the compressed layer is not left behind"


def test_equal_inputs_give_equal_digests(tmp_path: Path) -> None:
    config = images.ImageConfig(cmd=("sh",))
    digests = set()
    for attempt in ("a", "b"):
        (tmp_path / attempt).mkdir()
        layer = tiny_layer(tmp_path / attempt / "layer.tar")
        time.sleep(0.01)
        digests.add(images.write_archive(layer, config, REFERENCE, tmp_path / attempt / "i.tar"))
    assert len(digests) == 1
    assert (tmp_path / "a" / "i.tar").read_bytes() == (tmp_path / "b" / "i.tar").read_bytes()
    other = images.write_archive(
        tmp_path / "a" / "layer.tar", images.ImageConfig(cmd=("ls",)), REFERENCE, tmp_path / "c"
    )
    assert other not in digests


def test_layer_is_sorted_root_owned_with_parents_at_a_fixed_time(tmp_path: Path) -> None:
    with tarfile.open(tiny_layer(tmp_path / "layer.tar")) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["bin", "bin/hello", "bin/hi", "tmp"]
    assert all((m.uid, m.gid, m.mtime) == (0, 0, images.EPOCH) for m in members)
    by_name = {m.name: m for m in members}
    assert by_name["bin"].isdir() and by_name["bin/hi"].linkname == "hello"
    assert by_name["tmp"].mode == 0o1777


# --- the kuorum image follows the Dockerfile -------------------------------------------

RECIPE = images.read_recipe(images.DOCKERFILE.read_text(), images.project_version())


def test_kuorum_config_is_what_the_dockerfiles_final_stage_says() -> None:
    config = RECIPE.config
    (entrypoint,) = in_stage(RUNTIME, "ENTRYPOINT")
    (cmd,) = in_stage(RUNTIME, "CMD")
    (user,) = in_stage(RUNTIME, "USER")
    (workdir,) = in_stage(RUNTIME, "WORKDIR")
    assert list(config.entrypoint) == json.loads(entrypoint) == ["kuorum"]
    assert list(config.cmd) == json.loads(cmd)
    assert config.user == user == "65532:65532"
    assert config.working_dir == workdir
    declared = [
        token.replace("$PATH", images.DEFAULT_PATH)
        for value in in_stage(RUNTIME, "ENV")
        for token in shlex.split(value)
    ]
    assert list(config.env) == declared
    assert config.env[0] == f"PATH=/opt/kuorum/bin:{images.DEFAULT_PATH}"


def test_kuorum_labels_carry_the_project_version() -> None:
    labels = dict(RECIPE.config.labels)
    assert labels["org.opencontainers.image.version"] == images.project_version()
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert "org.opencontainers.image.title" in labels


def test_mmdebstrap_installs_what_the_dockerfile_apt_get_installs() -> None:
    runs = " ".join(in_stage(RUNTIME, "RUN"))
    (listed,) = re.findall(r"apt-get install ([^&]+)", runs)
    wanted = {word for word in listed.split() if not word.startswith("-")}
    assert wanted and wanted <= set(images.mmdebstrap_includes(RECIPE))
    assert "python3-venv" in images.mmdebstrap_includes(RECIPE), "the base image's Python"


def test_hooks_do_the_builder_and_runtime_steps_in_order(tmp_path: Path) -> None:
    command = images.mmdebstrap_command(tmp_path / "rootfs", tmp_path / "wheels", RECIPE)
    assert command[:3] == ["mmdebstrap", "--mode=root", "--variant=essential"]
    hooks = [a.removeprefix("--customize-hook=") for a in command if "customize-hook" in a]

    def position(fragment: str) -> int:
        return next(i for i, hook in enumerate(hooks) if fragment in hook)

    assert (
        position(str(tmp_path / "wheels"))
        < position("-m venv /opt/kuorum")
        < position("pip install --no-index --find-links")
        < position("pip uninstall --yes pip")
        < position(f'rm -rf "$1{images.WHEELS_INSIDE}"')
    )
    assert position("groupadd --system --gid 65532 kuorum") < position("kuorum --version")
    assert "install --directory --owner 65532" in hooks[position("install --directory")]
    assert "apt-get" not in " ".join(hooks), "no apt in an essential root; mmdebstrap installs"
    smoke = hooks[position("--userspec=")]
    assert "--userspec=65532:65532" in smoke and "kuorum --help" in smoke


def test_context_is_the_tracked_files_the_dockerfile_copies() -> None:
    files = images.context_files(RECIPE.sources)
    assert {"pyproject.toml", "README.md", "LICENSE", "kuorum/cli/__init__.py"} <= set(files)
    assert "kuorum/node" in files, "the component symlinks come along"
    assert any(f.startswith("crds/") for f in files)
    assert not [f for f in files if f.startswith("kuorum/devenv/")], ".dockerignore drops it"
    assert not [f for f in files if f.startswith(("tests/", "charts/", "docs/"))]


def test_recipe_reader_on_a_small_dockerfile() -> None:
    text = (
        "FROM base AS builder\nENV A=1\nRUN python -m venv /v\n"
        "FROM base\nARG VERSION=0.0.0\nLABEL v=\"${VERSION}\" \\\n  t='a b'\n"
        "RUN apt-get update && apt-get install -y libx1 liby2 && useradd u\n"
        "COPY --from=builder /v /v\nENV PATH=/v/bin:$PATH\nCMD run me\n"
    )
    recipe = images.read_recipe(text, "9.9.9")
    assert recipe.venv == "/v" and recipe.build_env == {"A": "1"}
    assert recipe.packages == ("libx1", "liby2") and recipe.setup == ("useradd u",)
    assert dict(recipe.config.labels) == {"v": "9.9.9", "t": "a b"}
    assert recipe.config.env == (f"PATH=/v/bin:{images.DEFAULT_PATH}",)
    assert recipe.config.cmd == ("/bin/sh", "-c", "run me")


@pytest.mark.parametrize(
    ("final", "complaint"),
    [
        ("ENV X=$NOWHERE\n", "NOWHERE"),
        ("COPY kuorum /kuorum\n", "teach"),
        ("HEALTHCHECK CMD true\n", "HEALTHCHECK"),
    ],
)
def test_recipe_reader_refuses_what_it_cannot_mirror(final: str, complaint: str) -> None:
    text = "FROM b AS builder\nRUN python -m venv /v\nFROM b\n" + final
    with pytest.raises(UserError, match=complaint):
        images.read_recipe(text, "1.0.0")


# --- busybox ---------------------------------------------------------------------------


def test_busybox_links_every_applet(tmp_path: Path) -> None:
    fake = tmp_path / "busybox"
    fake.write_text("#!/bin/sh\nprintf 'cat\\nsh\\nsha256sum\\n[\\n[[\\nbusybox\\n'\n")
    fake.chmod(0o755)
    names = images.applets(fake)
    assert names == ["cat", "sh", "sha256sum", "[", "[[", "busybox"]
    images.write_layer(images.busybox_entries(b"ELF", names), tmp_path / "layer.tar")
    with tarfile.open(tmp_path / "layer.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
        passwd = tar.extractfile("etc/passwd").read().decode()
        group = tar.extractfile("etc/group").read().decode()
    for name in ("cat", "sh", "sha256sum", "[", "[["):
        assert members[f"bin/{name}"].issym() and members[f"bin/{name}"].linkname == "busybox"
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert "root:x:0:0:" in passwd and "nobody:x:65534:65534:" in passwd
    assert "root:x:0:" in group and "nobody:x:65534:" in group


# --- pause, built for real -------------------------------------------------------------

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@needs_gcc
def test_pause_exits_zero_on_sigterm(tmp_path: Path) -> None:
    binary = images.compile_pause(tmp_path / "pause")
    process = subprocess.Popen([binary])
    time.sleep(0.2)
    assert process.poll() is None, "pause keeps running"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


@needs_gcc
def test_pause_image_is_built_once_and_rebuilt_when_pause_c_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = images.pause()
    assert first.reference == "kuorum.local/pause:3.10"
    layout = read_layout(first.archive)
    assert layout["config"]["config"]["Entrypoint"] == ["/pause"]
    members = layer_members(layout["layer"])
    assert list(members) == ["pause"] and members["pause"].mode == 0o755
    built = first.archive.stat().st_mtime_ns
    assert images.pause() == first and first.archive.stat().st_mtime_ns == built
    changed = tmp_path / "pause.c"
    changed.write_text(images.PAUSE_SOURCE.read_text() + "\n/* changed */\n")
    monkeypatch.setattr(images, "PAUSE_SOURCE", changed)
    second = images.pause()
    assert second.archive != first.archive
    assert not first.archive.exists(), "the archive of the old input is pruned"
    assert not list(second.archive.parent.glob(".build-*")), "no scratch left behind"
