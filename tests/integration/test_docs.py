"""Every command a newcomer is told to run works as printed, in order, on a fresh stack.

The commands come from where a user reads them, so a new example or a changed line is
covered without editing this test: the next steps ``kuorum dev up`` prints, the
``#   kubectl ...`` lines of every file in ``examples/`` (those of the examples the next
steps apply come first), and the README's quick-start block after ``make demo``. They
run in a scratch copy of the repository (symlinks, so ``.kuorum-dev`` is its own and a
stack a developer runs is never touched), and the first that fails names its file and
line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kuorum.cli.dev import NEXT_STEPS

pytestmark = pytest.mark.integration
REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_COMMAND = re.compile(r"^#\s{2,}(kubectl .*)$")
STEP_TIMEOUT = 300
"""Seconds any one command may take (``kubectl wait`` lines carry their own, shorter)."""


@dataclass(frozen=True)
class Step:
    """One command and where the user reads it."""

    where: str
    command: str


def example_steps(first: list[str]) -> list[Step]:
    """The ``#   kubectl`` lines of each example, ``first`` files before the others."""
    files = sorted((REPOSITORY / "examples").glob("*.yaml"))
    named = {path.name: path for path in files}
    files = [named[n] for n in first if n in named] + [p for p in files if p.name not in first]
    return [
        Step(f"examples/{path.name}:{number}", match.group(1))
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (match := EXAMPLE_COMMAND.match(line))
    ]


def readme_steps() -> list[Step]:
    """The quick start's commands after ``make demo`` (its second ``sh`` block)."""
    text = (REPOSITORY / "README.md").read_text()
    start = text.index("## Quick start")
    blocks = re.finditer(r"```sh\n(.*?)```", text[start:], re.S)
    next(blocks)  # the clone and the two make commands: CI runs those
    block = next(blocks)
    first = text[: start + block.start()].count("\n") + 2
    return [
        Step(f"README.md:{first + offset}", line.strip())
        for offset, line in enumerate(block.group(1).splitlines())
        if line.strip()
    ]


def printed_steps(output: str) -> list[Step]:
    """The indented lines after ``kuorum dev up``'s "Next steps:"."""
    _, heading, steps = output.partition(NEXT_STEPS)
    assert heading, f"kuorum dev up printed no {NEXT_STEPS!r}:\n{output[-2000:]}"
    return [
        Step("kuorum dev up (printed next steps)", line.strip())
        for line in steps.splitlines()
        if line.startswith("  ") and line.strip()
    ]


def run(step: Step, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Run ``step`` as the user's shell would; an ``export`` changes what follows."""
    exports = step.command.startswith("export ")
    script = f"set -e\n{step.command}\nenv -0" if exports else step.command  # past a # comment
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"{step.where}: `{step.command}` failed ({done.returncode}):\n"
        f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
    )
    if not exports:
        return env
    return dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """The repository as symlinks, with a ``.kuorum-dev`` of its own; stopped at the end."""
    root = tmp_path / "kuorum"
    root.mkdir()
    for entry in REPOSITORY.iterdir():
        if entry.name != ".kuorum-dev":
            (root / entry.name).symlink_to(entry)
    try:
        yield root
    finally:
        subprocess.run(
            [str(root / ".venv" / "bin" / "kuorum"), "dev", "down"],
            cwd=root,
            capture_output=True,
            timeout=120,
            check=False,
        )


def test_every_printed_and_documented_command_works_in_order(scratch: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "VIRTUAL_ENV")}
    up = subprocess.run(
        [".venv/bin/kuorum", "dev", "up"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert up.returncode == 0, f"kuorum dev up failed:\n{up.stdout[-2000:]}{up.stderr[-2000:]}"
    printed = printed_steps(up.stdout)
    assert any("kubectl apply -f examples/" in s.command for s in printed), up.stdout
    applied = [m.group(1) for s in printed if (m := re.search(r"examples/(\S+)", s.command))]
    steps = printed + example_steps(applied) + readme_steps()
    assert steps[-1].command.startswith("make down"), "the quick start ends by stopping"
    for step in steps:
        env = run(step, env, scratch)
