"""Every chart value is documented, the README table and values.schema.json are current,
and the schema refuses misspelt keys and out-of-range values."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

import pytest
import yaml
from chartkit import CHART, REPOSITORY, helm, template_args


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


def test_schema_constraints_name_real_values() -> None:
    generator = load_generator()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in generator.CONSTRAINTS:
        node = values
        for part in path.split("."):
            assert part in node, f"CONSTRAINTS names {path}, which values.yaml lacks"
            node = node[part]


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("node.replica=3", "additional properties 'replica' not allowed"),
        ("webhook.failurePolicy=Maybe", "value must be one of 'Fail', 'Ignore'"),
        ("webhook.timeoutSeconds=60", "maximum"),
        ("node.kem=RSA", "value must be one of"),
    ],
)
def test_schema_refuses_wrong_values(setting: str, complaint: str) -> None:
    done = helm(*template_args(sets=[setting]), check=False)
    assert done.returncode != 0
    assert complaint in done.stderr
