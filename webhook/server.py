"""The HTTP surface of the webhook: /mutate, /healthz, /readyz, /metrics.

Built as a plain aiohttp application so tests (and the fuzz test) can drive it
in-process with aiohttp's test client; TLS is added by whoever serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kuorum.webhook.admission import Admission, Result
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.registration import MUTATE_PATH
from kuorum.webhook.review import MalformedReview, decode
from kuorum.webhook.tls import ClientCertificates

MAX_BODY = 3 * 1024 * 1024
"""Largest AdmissionReview accepted: the apiserver's own request limit (3 MiB) is the most
a pod can be; anything larger is not from the apiserver."""
DECODE_IN_THREAD = 256 * 1024
"""Bodies above this are answered in a thread: parsing MiBs must not hold the event loop."""
REFUSED = {"error": "this endpoint answers the Kubernetes apiserver only"}
"""The whole answer to a caller that is not the apiserver: nothing about any secret."""
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
    admission: Admission,
    metrics: Metrics,
    *,
    ready: Callable[[], bool],
    callers: ClientCertificates | None = None,
) -> web.Application:
    """Return the application; ``ready`` says whether admission may be answered, and
    ``callers`` (when set) who may ask: the apiserver's client certificate."""

    async def mutate(request: web.Request) -> web.Response:
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport is not None else None
        if callers is not None and not callers.allows(peer):
            metrics.admissions.labels(Result.FORBIDDEN, "403").inc()
            return web.json_response(REFUSED, status=403)
        body = await request.read()
        if len(body) > DECODE_IN_THREAD:  # the informers' threads share the cache already
            status, document = await asyncio.to_thread(answer, admission, metrics, body)
        else:
            status, document = answer(admission, metrics, body)
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
