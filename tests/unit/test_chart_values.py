"""Every chart value is documented, and the README's values table is current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

from chartkit import CHART, REPOSITORY


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "chart_readme", REPOSITORY / "hack" / "chart_readme.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_value_has_a_description() -> None:
    generator = load_generator()
    assert generator.undocumented((CHART / "values.yaml").read_text()) == []


def test_readme_table_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "hack" / "chart_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_readme_lists_every_leaf_value() -> None:
    import yaml

    generator = load_generator()
    text = (CHART / "values.yaml").read_text()
    readme = (CHART / "README.md").read_text()
    for path in generator.leaves(yaml.safe_load(text)):
        parts = path.split(".")
        documented = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        assert any(f"| `{key}` |" in readme for key in documented), path


def test_an_undocumented_value_is_caught() -> None:
    generator = load_generator()
    text = "a:\n  # -- documented\n  b: 1\n  c: 2\n"
    assert generator.undocumented(text) == ["a.c"]
    assert "| `a.b` | int | `1` | documented |" in generator.table(text)
