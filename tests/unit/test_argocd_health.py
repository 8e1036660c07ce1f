"""The Argo CD health check of DecentralizedSecret, run the way Argo CD tests its own.

Argo CD runs health.lua in gopher-lua (Lua 5.1) with the object as the global ``obj``
and checks it against health_test.yaml (expected status and message per testdata file).
Here lupa's Lua 5.1 runs the same script on the same files, plus properties over
generated statuses: never Healthy unless Ready=True, generation observed and not Degraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51 as lua51  # the test extra; Lua 5.1 as Argo CD's gopher-lua
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

CHECK = Path(__file__).resolve().parents[2] / "gitops" / "argocd" / "kuorum.io"
CHECK = CHECK / "DecentralizedSecret"
SCRIPT = (CHECK / "health.lua").read_text()
CASES = yaml.safe_load((CHECK / "health_test.yaml").read_text())["tests"]
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def health(obj: dict[str, Any]) -> dict[str, Any]:
    """Run health.lua with ``obj`` as Argo CD does; return the hs table as a dict."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals()["obj"] = runtime.table_from(obj, recursive=True)
    result = runtime.execute(SCRIPT)
    return dict(result.items())


@pytest.mark.parametrize("case", CASES, ids=[Path(c["inputPath"]).stem for c in CASES])
def test_health_test_yaml(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((CHECK / case["inputPath"]).read_text())
    assert health(obj) == case["healthStatus"]


def test_every_testdata_file_is_listed() -> None:
    listed = {c["inputPath"] for c in CASES}
    present = {f"testdata/{p.name}" for p in (CHECK / "testdata").glob("*.yaml")}
    assert listed == present


def test_testdata_covers_each_status() -> None:
    assert {c["healthStatus"]["status"] for c in CASES} == {"Healthy", "Progressing", "Degraded"}


CONDITION_STATUS = st.sampled_from(["True", "False", "Unknown"])
REASON = st.sampled_from(["", "Distributing", "Materialized", "NodeUnreachable", "Boom"])


@st.composite
def secrets(draw: st.DrawFn) -> dict[str, Any]:
    generation = draw(st.integers(min_value=1, max_value=5))
    obj: dict[str, Any] = {"metadata": {"name": "db", "generation": generation}}
    if draw(st.booleans()):
        conditions = [
            {"type": kind, "status": draw(CONDITION_STATUS), "reason": draw(REASON)}
            for kind in draw(
                st.lists(st.sampled_from(["Ready", "Degraded", "Distributed"]), unique=True)
            )
        ]
        status: dict[str, Any] = {"conditions": conditions}
        if draw(st.booleans()):
            status["observedGeneration"] = draw(st.integers(min_value=0, max_value=generation))
        obj["status"] = status
    return obj


def condition(obj: dict[str, Any], kind: str) -> str | None:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return str(c["status"])
    return None


@given(secrets())
def test_healthy_only_when_ready_current_and_not_degraded(obj: dict[str, Any]) -> None:
    result = health(obj)
    assert result["status"] in ARGO_STATUSES
    assert isinstance(result["message"], str) and result["message"]
    if result["status"] == "Healthy":
        assert condition(obj, "Ready") == "True"
        assert condition(obj, "Degraded") != "True"
        assert obj["status"].get("observedGeneration") == obj["metadata"]["generation"]


@given(secrets())
def test_degraded_condition_always_shows_degraded(obj: dict[str, Any]) -> None:
    if condition(obj, "Degraded") == "True":
        assert health(obj)["status"] == "Degraded"


@given(secrets())
def test_a_refused_distribution_shows_degraded(obj: dict[str, Any]) -> None:
    for c in (obj.get("status") or {}).get("conditions", []):
        refused = c["status"] == "False" and c["reason"] not in PROGRESS_REASONS
        if c["type"] == "Distributed" and refused:
            assert health(obj)["status"] == "Degraded"


# Ready=False reasons that mean work in progress; every other kuorum.models.Reason is a
# failure and must show as Degraded. A new Reason fails test_every_reason_is_classified
# until it is placed here (and in health.lua's progressReasons when it is progress).
PROGRESS_REASONS = {"Distributing", "Rotating", "WaitingForNodes", "Deleting"}


def ready_false(reason: str) -> dict[str, Any]:
    condition = {
        "type": "Ready",
        "status": "False",
        "reason": reason,
        "message": "m",
        "lastTransitionTime": "2026-11-24T10:00:00Z",
    }
    return {
        "metadata": {"name": "db", "generation": 1},
        "status": {"observedGeneration": 1, "conditions": [condition]},
    }


def test_every_reason_is_classified() -> None:
    from kuorum.models import Reason

    assert {str(r) for r in Reason} >= PROGRESS_REASONS
    for reason in Reason:
        expected = "Progressing" if reason in PROGRESS_REASONS else "Degraded"
        assert health(ready_false(str(reason)))["status"] == expected, reason


def test_argocd_cm_snippet_carries_this_exact_script() -> None:
    snippet = yaml.safe_load((CHECK.parents[1] / "argocd-cm.yaml").read_text())
    key = "resource.customizations.health.kuorum.io_DecentralizedSecret"
    assert snippet["data"][key] == SCRIPT


def test_example_applications() -> None:
    """The example installs the chart without fighting the injected caBundle, and never
    auto-prunes secrets (deleting one destroys its shares on every node)."""
    example = CHECK.parents[3] / "examples" / "argocd-application.yaml"
    chart_app, secrets_app = yaml.safe_load_all(example.read_text())
    assert chart_app["spec"]["source"]["path"] == "charts/kuorum"
    (ignored,) = chart_app["spec"]["ignoreDifferences"]
    assert (ignored["kind"], ignored["name"]) == ("MutatingWebhookConfiguration", "kuorum-webhook")
    assert ".webhooks[]?.clientConfig.caBundle" in ignored["jqPathExpressions"]
    assert secrets_app["spec"]["syncPolicy"]["automated"]["prune"] is False
