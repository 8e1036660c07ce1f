"""Write the values table of charts/kuorum/README.md from the `# --` comments of values.yaml.

One source for the documentation of every value: the comment right above the key (the
helm-docs convention). The table sits between the markers below; the rest of the README
is prose kept by hand.

    python hack/chart_readme.py          # rewrite the table
    python hack/chart_readme.py --check  # exit 1 when the README is stale (tests do this)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "charts" / "kuorum"
BEGIN, END = "<!-- values:begin -->", "<!-- values:end -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):")


def described_keys(text: str) -> dict[str, str]:
    """Map dotted key paths to the `# --` description written above them."""
    described: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped.removeprefix("# --").strip()]
            continue
        if stripped.startswith("#") and pending:
            pending.append(stripped.removeprefix("#").strip())
            continue
        match = KEY.match(line)
        if not match:
            if stripped and not stripped.startswith("-"):
                pending = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        if pending:
            described[".".join(key for _, key in stack)] = " ".join(pending)
        pending = []
    return described


def leaves(values: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten values to dotted paths; lists and empty or described maps are leaves."""
    if isinstance(values, dict) and values:
        out: dict[str, Any] = {}
        for key, value in values.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): values}


def table(values_text: str) -> str:
    """Render the Markdown table of every documented key."""
    values = yaml.safe_load(values_text)
    described = described_keys(values_text)
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path in described:
        node: Any = values
        for part in path.split("."):
            node = node[part]
        kind = type(node).__name__.replace("NoneType", "null")
        kind = {"dict": "object", "str": "string", "list": "list", "bool": "bool"}.get(kind, kind)
        default = json.dumps(node, separators=(", ", ": "))
        description = described[path].replace("|", "\\|")
        rows.append(f"| `{path}` | {kind} | `{default}` | {description} |")
    return "\n".join(rows)


def undocumented(values_text: str) -> list[str]:
    """Leaf keys with no description of their own or of an ancestor."""
    described = described_keys(values_text)
    missing = []
    for path in leaves(yaml.safe_load(values_text)):
        parts = path.split(".")
        if not any(".".join(parts[:i]) in described for i in range(1, len(parts) + 1)):
            missing.append(path)
    return missing


def render(readme: str, values_text: str) -> str:
    """Return the README with its values table replaced."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table(values_text)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    values_text = (CHART / "values.yaml").read_text()
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    if BEGIN not in readme or END not in readme:
        print(f"{readme_path}: markers {BEGIN} / {END} missing", file=sys.stderr)
        return 1
    missing = undocumented(values_text)
    if missing:
        print("values without a `# --` description: " + ", ".join(missing), file=sys.stderr)
        return 1
    wanted = render(readme, values_text)
    if "--check" in argv:
        if wanted != readme:
            print(f"{readme_path} is stale: run python hack/chart_readme.py", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
