"""The HTTP surface of the webhook: /mutate, /healthz, /readyz, /metrics.

Built as a plain aiohttp application so tests (and the fuzz test) can drive it
in-process with aiohttp's test client; TLS is added by whoever serves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kuorum.webhook.admission import Admission, Result
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.registration import MUTATE_PATH
from kuorum.webhook.review import MalformedReview, decode

MAX_BODY = 4 * 1024 * 1024
"""Largest AdmissionReview accepted; the apiserver's own request limit is 3 MiB."""
NOT_READY = "not ready: the DecentralizedSecret cache has not loaded its first list yet"


def answer(admission: Admission, metrics: Metrics, body: bytes) -> tuple[int, dict[str, Any]]:
    """Answer one request body: ``(HTTP status, JSON document)``; never raises on input."""
    started = time.perf_counter()
    try:
        review = decode(body)
    except MalformedReview as error:
        metrics.admissions.labels(Result.MALFORMED, "400").inc()
        return 400, {"error": str(error)}
    decision = admission.decide(review)
    metrics.admissions.labels(decision.result, str(decision.code)).inc()
    metrics.latency.observe(time.perf_counter() - started)
    return 200, decision.review


def create_app(
    admission: Admission, metrics: Metrics, *, ready: Callable[[], bool]
) -> web.Application:
    """Return the application; ``ready`` says whether admission may be answered."""

    async def mutate(request: web.Request) -> web.Response:
        status, document = answer(admission, metrics, await request.read())
        return web.json_response(document, status=status)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if not ready():
            return web.Response(status=503, text=NOT_READY)
        return web.Response(text="ok")

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(MUTATE_PATH, mutate)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app
