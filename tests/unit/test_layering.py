"""Imports run one way, by folder: core <- kube <- components <- devenv <- CLI.

The layer of a module is where it lives, so a new file is covered without editing this
test (docs/architecture.md, "Packages and the direction of imports"):

- ``kuorum/`` outside the folders below: the pure core (no Kubernetes I/O);
- ``kuorum/kube/``: the one Kubernetes access layer the components share;
- ``node/``, ``operator/``, ``webhook/`` (``kuorum.node`` ...): the components;
- ``kuorum/devenv/``: the local control plane and dev stack, above the components;
- ``kuorum/cli/`` and ``kuorum/__main__.py``: the command line, imported by nobody.

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
COMPONENTS = ("node", "operator", "webhook", "agent")
KUBERNETES_IO = ("kubernetes", "kopf", "aiohttp", "httpx", "urllib.request", "socket")
ABOVE_COMPONENTS = ("kuorum.devenv", "kuorum.cli", "kuorum.__main__")


def layer_of(path: Path) -> str:
    """The layer a source file belongs to, from its folder alone."""
    parts = path.relative_to(ROOT).parts
    if parts[0] in COMPONENTS:
        return parts[0]
    if parts[:2] == ("kuorum", "__main__.py") or parts[1] == "cli":
        return "cli"
    return {"kube": "kube", "devenv": "devenv"}.get(parts[1], "core")


def sources() -> list[Path]:
    """Every Python file of the distribution (the components reached by their own folders)."""
    found = [p for p in (ROOT / "kuorum").rglob("*.py") if not _through_a_link(p)]
    found += [p for component in COMPONENTS for p in (ROOT / component).rglob("*.py")]
    return sorted(found)


def _through_a_link(path: Path) -> bool:
    return any((ROOT / "kuorum" / c) in path.parents for c in COMPONENTS)


FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": (
        *KUBERNETES_IO,
        "kuorum.kube",
        *(f"kuorum.{c}" for c in COMPONENTS),
        *ABOVE_COMPONENTS,
    ),
    "kube": (*(f"kuorum.{c}" for c in COMPONENTS), *ABOVE_COMPONENTS),
    **{c: (*(f"kuorum.{o}" for o in COMPONENTS if o != c), *ABOVE_COMPONENTS) for c in COMPONENTS},
    "devenv": ("kuorum.cli", "kuorum.__main__"),
    "cli": (),
}


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


def violations(layer: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} ({layer}) imports {name}"
        for path in sources()
        if layer_of(path) == layer
        for name in sorted(forbidden_imports(path.read_text(), package_of(path), FORBIDDEN[layer]))
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_lies_below_it(layer: str) -> None:
    assert any(layer_of(p) == layer for p in sources()), f"no module in layer {layer}"
    assert violations(layer) == []


def test_every_source_file_has_a_layer() -> None:
    layers = {layer_of(p) for p in sources()}
    assert layers == set(FORBIDDEN)


def test_the_checker_sees_absolute_and_relative_forbidden_imports() -> None:
    source = "from kuorum.operator import handlers\nfrom ..webhook import x\nimport json\n"
    found = forbidden_imports(source, "kuorum.node", ("kuorum.operator", "kuorum.webhook"))
    assert {"kuorum.operator", "kuorum.webhook"} <= found
    assert not any(name.startswith("json") for name in found)


def test_a_file_is_placed_by_its_folder() -> None:
    assert layer_of(ROOT / "kuorum" / "brand_new.py") == "core"
    assert layer_of(ROOT / "kuorum" / "devenv" / "kubelet.py") == "devenv"
    assert layer_of(ROOT / "kuorum" / "cli" / "nodes.py") == "cli"
    assert layer_of(ROOT / "operator" / "plan.py") == "operator"
