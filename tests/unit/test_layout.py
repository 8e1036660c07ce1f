"""The repository layout keeps its promises (docs/architecture.md)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from kuorum.cli import COMMAND_MODULES, build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("operator", "webhook", "node", "agent")


def test_the_standard_library_operator_module_wins_at_the_repository_root() -> None:
    found = subprocess.run(
        [sys.executable, "-S", "-c", "import operator; print(operator.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not found.startswith(str(ROOT)), found


@pytest.mark.parametrize("component", COMPONENTS)
def test_component_folders_have_no_init_and_map_into_the_package(component: str) -> None:
    assert not (ROOT / component / "__init__.py").exists()
    link = ROOT / "kuorum" / component
    assert link.is_symlink()
    assert link.resolve() == (ROOT / component).resolve()


def test_python_dash_m_kuorum_runs_from_the_repository_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kuorum", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kuorum ")


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_every_command_module_registers_a_command(module: str) -> None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    assert subparsers.choices, f"{module} added no command to `kuorum --help`"


def test_help_lists_every_command() -> None:
    assert "dev" in build_parser().format_help()


def test_dev_says_plainly_where_the_dev_environment_is_absent() -> None:
    """The image leaves kuorum/devenv out: `kuorum dev` must say so, not raise ImportError."""
    from kuorum.cli.dev import needs_devenv
    from kuorum.errors import UserError

    def run(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError("No module named 'kuorum.devenv'", name="kuorum.devenv")

    with pytest.raises(UserError, match="dev environment is not installed"):
        needs_devenv(run)(argparse.Namespace())


def test_other_missing_modules_are_not_hidden_by_the_dev_message() -> None:
    from kuorum.cli.dev import needs_devenv

    def run(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    with pytest.raises(ModuleNotFoundError):
        needs_devenv(run)(argparse.Namespace())
