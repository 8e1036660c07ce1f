"""DecentralizedSecret objects as the API returns them, for the webhook's unit tests."""

from __future__ import annotations

from typing import Any

from kuorum import names


def dsec(
    name: str,
    version: int | None = None,
    *,
    namespace: str = "ns",
    ready: bool = True,
    target: str | None = None,
    access: dict[str, Any] | None = None,
    delivery: str | None = None,
    nodes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A valid DecentralizedSecret with a status as the operator writes it."""
    spec: dict[str, Any] = {
        "threshold": 2,
        "shares": 3,
        "source": {"generate": {"keys": [{"name": "password"}]}},
    }
    if target is not None:
        spec["target"] = {"name": target}
    if access is not None:
        spec["access"] = access
    if delivery is not None:
        spec["delivery"] = delivery
    status: dict[str, Any] = {
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]
    }
    if version is not None:
        status["version"] = version
    if nodes:
        status["nodes"] = [
            {"name": node, "index": i, "state": "Stored"} for i, node in enumerate(nodes, 1)
        ]
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.SECRET_KIND,
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
        "status": status,
    }
