"""docs/node-api.yaml describes exactly the routes the node serves."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp import web

from kuorum.node import api

DOC = Path(__file__).resolve().parents[2] / "docs" / "node-api.yaml"


def served_routes() -> set[tuple[str, str]]:
    app = api.build_app(
        custody=None,
        auth=None,
        witness=None,  # type: ignore[arg-type]
        metrics_=None,
        ready=lambda: True,
    )  # type: ignore[arg-type]
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if isinstance(route, web.ResourceRoute) and route.method != "HEAD"
    }


def documented_routes() -> set[tuple[str, str]]:
    document = yaml.safe_load(DOC.read_text())
    assert document["openapi"].startswith("3.")
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


def test_every_route_is_documented_and_nothing_else() -> None:
    assert served_routes() == documented_routes()


def test_every_reference_resolves() -> None:
    document = yaml.safe_load(DOC.read_text())

    def walk(node: object) -> None:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str):
                target: object = document
                for part in reference.removeprefix("#/").split("/"):
                    assert isinstance(target, dict) and part in target, reference
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
