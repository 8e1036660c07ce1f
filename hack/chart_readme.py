"""Write the values table of charts/kuorum/README.md and values.schema.json from values.yaml.

One source for the documentation of every value: the comment right above the key (the
helm-docs convention). The table sits between the markers below; the rest of the README
is prose kept by hand. The JSON schema (which helm checks on lint, template, install and
upgrade) takes each value's type from its default, closes every map so a misspelt key
fails instead of being ignored, and adds the few enums and bounds in CONSTRAINTS.
Described maps (resources, affinity, ...) stay open: they are Kubernetes objects.

    python hack/chart_readme.py          # rewrite the table and the schema
    python hack/chart_readme.py --check  # exit 1 when either is stale (tests do this)
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


CONSTRAINTS: dict[str, dict[str, Any]] = {
    "logLevel": {"enum": ["debug", "info", "warning", "error"]},
    "image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "image.digest": {"pattern": "^(sha256:[0-9a-f]{64})?$"},
    "operator.replicas": {"minimum": 1},
    "webhook.replicas": {"minimum": 1},
    "webhook.timeoutSeconds": {"minimum": 1, "maximum": 30},
    "webhook.failurePolicy": {"enum": ["Fail", "Ignore"]},
    "node.replicas": {"minimum": 1},
    "node.threshold": {"minimum": 1},
    "node.kem": {"enum": ["MLKEM768_X25519", "X25519"]},
    "node.witnessIntervalSeconds": {"exclusiveMinimum": 0},
    "node.topologySpread.hostname": {"enum": ["DoNotSchedule", "ScheduleAnyway"]},
    "node.topologySpread.zone": {"enum": ["DoNotSchedule", "ScheduleAnyway"]},
    "podSecurityContext.runAsUser": {"minimum": 1},
    "podSecurityContext.runAsGroup": {"minimum": 1},
}
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def schema(values_text: str) -> dict[str, Any]:
    """The values.schema.json of the chart."""
    described = described_keys(values_text)

    def node(value: Any, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if path in described:
            out["description"] = described[path]
        if isinstance(value, dict):
            out["type"] = "object"
            if path not in described or not path:
                out["properties"] = {
                    key: node(item, f"{path}.{key}".lstrip(".")) for key, item in value.items()
                }
                out["additionalProperties"] = False
        else:
            out["type"] = JSON_TYPES[type(value)]
        out.update(CONSTRAINTS.get(path, {}))
        return out

    root = node(yaml.safe_load(values_text), "")
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "kuorum", **root}


def schema_text(values_text: str) -> str:
    return json.dumps(schema(values_text), indent=2) + "\n"


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
    schema_path = CHART / "values.schema.json"
    wanted = {readme_path: render(readme, values_text), schema_path: schema_text(values_text)}
    if "--check" in argv:
        stale = [
            str(path)
            for path, text in wanted.items()
            if not path.exists() or path.read_text() != text
        ]
        if stale:
            print(f"stale: {', '.join(stale)}: run python hack/chart_readme.py", file=sys.stderr)
            return 1
        return 0
    for path, text in wanted.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
