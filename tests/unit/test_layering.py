"""Imports run one way: core <- node, operator, webhook <- CLI (DESIGN.md).

import-linter cannot see kuorum.node/operator/webhook (they are namespace packages, so
a root folder named operator/ never shadows the standard library), so this test reads
every module's imports with ast and holds the rules itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("node", "operator", "webhook")
CORE = (
    "kuorum/_group.py",
    "kuorum/sharing.py",
    "kuorum/sealing.py",
    "kuorum/envelope",
    "kuorum/ledger",
    "kuorum/models",
    "kuorum/models.py",
    "kuorum/policy.py",
    "kuorum/names.py",
    "kuorum/errors.py",
    "kuorum/receipts.py",
    "kuorum/files.py",
    "kuorum/certificates.py",
)
KUBERNETES_IO = (
    "kubernetes",
    "kopf",
    "aiohttp",
    "httpx",
    "urllib.request",
    "socket",
    "kuorum.kube",
    "kuorum.cluster",
)


def python_files(relative: str) -> list[Path]:
    path = ROOT / relative
    if path.is_file():
        return [path]
    return sorted(path.rglob("*.py")) if path.is_dir() else []


def package_of(path: Path) -> str:
    """The package a file belongs to, as Python imports it (components under kuorum)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return "kuorum." + package if package.split(".")[0] in COMPONENTS else package


def imported_modules(source: str, package: str) -> Iterator[str]:
    """Absolute names of every module ``source`` imports (relative imports resolved)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def forbidden_imports(source: str, package: str, forbidden: tuple[str, ...]) -> set[str]:
    return {
        name
        for name in imported_modules(source, package)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    }


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(forbidden_imports(path.read_text(), package_of(path), forbidden))
    ]


@pytest.mark.parametrize("component", COMPONENTS)
def test_components_do_not_import_each_other(component: str) -> None:
    others = tuple(f"kuorum.{other}" for other in COMPONENTS if other != component)
    assert violations(python_files(component), others) == []


def test_the_core_has_no_kubernetes_io_and_knows_no_component() -> None:
    files = [f for relative in CORE for f in python_files(relative)]
    assert files, "the core modules moved: update CORE"
    forbidden = KUBERNETES_IO + tuple(f"kuorum.{c}" for c in COMPONENTS)
    assert violations(files, forbidden) == []


def test_the_checker_sees_absolute_and_relative_forbidden_imports() -> None:
    source = "from kuorum.operator import handlers\nfrom ..webhook import x\nimport json\n"
    found = forbidden_imports(source, "kuorum.node", ("kuorum.operator", "kuorum.webhook"))
    assert {"kuorum.operator", "kuorum.webhook"} <= found
    assert not any(name.startswith("json") for name in found)
