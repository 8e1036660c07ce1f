"""The Dockerfile keeps its promises, checked without a Docker engine.

No engine here, so the image is not built; instead the Dockerfile is parsed (pinned
base, non-root numeric USER matching the chart, `kuorum` entry point, libsodium at
runtime, wheel built in a builder stage), and the builder's own step (a wheel from
exactly the files the Dockerfile copies) is run.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
DOCKERFILE = REPOSITORY / "Dockerfile"
DOCKERIGNORE = REPOSITORY / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions, continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, value = buffer.partition(" ")
        out.append(Instruction(keyword.upper(), value.strip()))
        buffer = ""
    return out


def stages(parsed: list[Instruction]) -> list[list[Instruction]]:
    """Instructions grouped by stage (each starts with FROM)."""
    groups: list[list[Instruction]] = []
    for instruction in parsed:
        if instruction.keyword == "FROM":
            groups.append([])
        if groups:
            groups[-1].append(instruction)
    return groups


def arg_defaults(parsed: list[Instruction]) -> dict[str, str]:
    defaults = {}
    for instruction in parsed:
        if instruction.keyword == "ARG" and "=" in instruction.value:
            name, _, value = instruction.value.partition("=")
            defaults[name] = value
    return defaults


def is_pinned(image: str) -> bool:
    """A digest, or a tag naming a full x.y.z version (never `latest`, never bare x.y)."""
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    _, _, tag = image.rpartition(":")
    return bool(re.match(r"^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$", tag))


PARSED = instructions(DOCKERFILE.read_text())
STAGES = stages(PARSED)
RUNTIME = STAGES[-1]


def in_stage(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.value for i in stage if i.keyword == keyword]


def test_parser_joins_continuations_and_skips_comments() -> None:
    parsed = instructions("# c\nFROM a:1.2.3 AS b\nRUN x \\\n  # inner\n  && y\nUSER 1:1\n")
    assert [(i.keyword, i.value) for i in parsed] == [
        ("FROM", "a:1.2.3 AS b"),
        ("RUN", "x  && y"),
        ("USER", "1:1"),
    ]


def test_multi_stage_with_pinned_bases() -> None:
    assert len(STAGES) >= 2
    defaults = arg_defaults(PARSED)
    for stage in STAGES:
        image = stage[0].value.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        assert is_pinned(image), f"FROM {image} is not pinned to a version or digest"
        assert image.startswith("python:3.11"), "the project targets Python 3.11"


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("python:3.11-slim-bookworm", False),
        ("python:latest", False),
        ("python:3.11.14-slim-bookworm", True),
        ("python:3.11-slim@sha256:" + "a" * 64, True),
    ],
)
def test_pin_check_itself(image: str, pinned: bool) -> None:
    assert is_pinned(image) is pinned


def test_runs_as_the_numeric_non_root_user_the_chart_expects() -> None:
    (user,) = in_stage(RUNTIME, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), "numeric USER lets the kubelet check runAsNonRoot"
    assert int(uid) != 0 and int(gid) != 0
    values = yaml.safe_load((REPOSITORY / "charts/kuorum/values.yaml").read_text())
    assert int(uid) == values["podSecurityContext"]["runAsUser"]
    assert int(gid) == values["podSecurityContext"]["runAsGroup"]
    assert RUNTIME.index(next(i for i in RUNTIME if i.keyword == "USER")) > max(
        RUNTIME.index(i) for i in RUNTIME if i.keyword in {"RUN", "COPY"}
    ), "USER comes after every RUN/COPY of the runtime stage"


def test_entry_point_is_kuorum() -> None:
    (entrypoint,) = in_stage(RUNTIME, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["kuorum"], "exec form, so signals reach kuorum"


def test_runtime_has_libsodium_and_only_the_built_virtualenv() -> None:
    runs = " ".join(in_stage(RUNTIME, "RUN"))
    assert "libsodium23" in runs and "--no-install-recommends" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    copies = in_stage(RUNTIME, "COPY")
    assert copies and all(c.startswith("--from=builder ") for c in copies)


def test_builder_builds_the_wheel() -> None:
    assert STAGES[0][0].value.endswith(" AS builder")
    assert "pip wheel" in " ".join(in_stage(STAGES[0], "RUN"))


def builder_sources() -> list[str]:
    sources = []
    for value in in_stage(STAGES[0], "COPY"):
        parts = value.split()
        sources += [p.rstrip("/") for p in parts[:-1] if not p.startswith("--")]
    return sources


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            result = not negated
    return result


def dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_dockerignore_keeps_what_is_copied_and_drops_the_rest() -> None:
    patterns = dockerignore_patterns()
    for source in builder_sources():
        assert not ignored(source, patterns), f"{source} is copied but .dockerignore drops it"
    for private in (".git", ".venv", "tests", ".kuorum-dev", "charts", "bench", "kuorum/devenv"):
        assert ignored(private, patterns), f"{private} would be sent to the build context"


def test_builder_step_makes_a_wheel_with_every_component(tmp_path: Path) -> None:
    """What the builder stage does, on exactly the files the Dockerfile copies."""
    context = tmp_path / "context"
    context.mkdir()
    patterns = dockerignore_patterns()

    def left_out(directory: str, entries: list[str]) -> set[str]:
        """What the build context would not hold (Docker applies .dockerignore)."""
        relative = Path(directory).relative_to(REPOSITORY)
        return {e for e in entries if e == "__pycache__" or ignored(str(relative / e), patterns)}

    for source in builder_sources():
        origin = REPOSITORY / source
        if origin.is_dir():
            shutil.copytree(
                origin,
                context / source,
                symlinks=True,
                ignore=left_out,
            )
        else:
            shutil.copy2(origin, context / source)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=context,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("kuorum-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
        entry_points = next(n for n in members if n.endswith(".dist-info/entry_points.txt"))
        assert "kuorum = kuorum.cli:main" in archive.read(entry_points).decode()
    assert "kuorum/cli/__init__.py" in members and "kuorum/names.py" in members
    assert not any(m.startswith("kuorum/devenv/") for m in members), "dev environment shipped"
    for component in ("node", "operator", "webhook"):
        for module in (REPOSITORY / component).glob("*.py"):
            assert f"kuorum/{component}/{module.name}" in members, f"{component} not shipped"
