"""The share-node HTTP API (v1): routes, authentication gate, errors and metrics.

Handlers stay thin: they parse (``requests``), authorize (``auth``), then call
:class:`~kuorum.node.custody.Custody` or the witness. Every 401/403 is written to the
ledger before it is answered. Error bodies are ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kuorum import b64, names, nodeapi
from kuorum.node import requests
from kuorum.node.auth import Caller, PodIdentity, Refused, TokenAuthenticator
from kuorum.node.custody import Custody
from kuorum.node.errors import ApiError, BadRequest, Forbidden, Unauthenticated
from kuorum.node.metrics import NodeMetrics, RefusalReason
from kuorum.node.storage import Storage
from kuorum.node.witness import WitnessServer

log = logging.getLogger("kuorum.node.api")

MAX_WAIT = 300
"""Longest a delivery listing waits for a newer version (``?wait=``), in seconds: an idle
agent costs one request, one TokenReview, per node every few minutes."""

MAX_BODY = 4 * 1024 * 1024
"""Largest request body: a sealed share plus commitments plus an encrypted payload."""

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CUSTODY = web.AppKey("custody", Custody)
AUTH = web.AppKey("auth", TokenAuthenticator)
WITNESS = web.AppKey("witness", WitnessServer)
METRICS = web.AppKey("metrics", NodeMetrics)
READY: web.AppKey[Callable[[], bool]] = web.AppKey("ready")


def error_response(status: int, reason: str) -> web.Response:
    """The one error shape of the API."""
    return web.json_response({"error": reason}, status=status)


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map node errors to JSON answers and count every request by route template."""
    started = time.perf_counter()
    metrics = request.app[METRICS]
    route = request.match_info.route.resource
    template = route.canonical if route is not None else "unmatched"
    try:
        response = await handler(request)
    except ApiError as error:
        response = error_response(error.status, str(error))
    except nodeapi.WireError as error:
        response = error_response(BadRequest.status, str(error))
    except web.HTTPException as error:
        response = error_response(error.status, error.reason)
    metrics.requests.labels(template, request.method, str(response.status)).inc()
    metrics.latency.labels(template).observe(time.perf_counter() - started)
    return response


async def _json(request: web.Request) -> object:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest("the body must be JSON (Content-Type: application/json)") from error


async def _operator(
    request: web.Request, action: str, namespace: str, name: str, slot: requests.Slot | None = None
) -> Caller:
    """Let only the operator through; ledger and count every refusal before answering."""
    authorize = request.app[AUTH].authorize_operator
    return await _gate(request, authorize, action, namespace=namespace, name=name, slot=slot)


async def _gate(
    request: web.Request,
    authorize: Callable[[str | None], Awaitable[T]],
    action: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    slot: requests.Slot | None = None,
) -> T:
    """Let through whom ``authorize`` accepts; ledger and count every refusal first."""
    try:
        return await authorize(request.headers.get("Authorization"))
    except Refused as refused:
        if refused.status == 403:
            reason = RefusalReason.FORBIDDEN
        elif "Authorization" in request.headers:
            reason = RefusalReason.UNAUTHENTICATED
        else:
            reason = RefusalReason.MISSING_CREDENTIALS
        request.app[METRICS].refusals.labels(reason.value).inc()
        await request.app[CUSTODY].refuse(
            action=action,
            actor=refused.actor,
            reason=refused.reason,
            slot=slot,
            namespace=namespace,
            name=name,
        )
        log.warning(
            "refused %s of %s for %s: %s",
            action,
            slot or (f"{namespace}/{name}" if name else "the ledger"),
            refused.actor or "anonymous",
            refused.reason,
        )
        error = Forbidden if refused.status == 403 else Unauthenticated
        raise error(refused.reason) from None


# -- custody ---------------------------------------------------------------------------


async def put_share(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    slot = requests.slot(info["namespace"], info["name"], info["version"])
    caller = await _operator(request, "store", slot.namespace, slot.name, slot)
    body = nodeapi.StoreRequest.from_json(await _json(request))
    custody = request.app[CUSTODY]
    try:
        answer = await custody.store(slot, body, actor=caller.username)
    except ApiError as error:
        if error.status == 409:
            request.app[METRICS].refusals.labels(RefusalReason.CONFLICT.value).inc()
        elif error.status == 400:
            request.app[METRICS].refusals.labels(RefusalReason.INVALID_SHARE.value).inc()
        raise
    _update_gauges(request.app)
    return web.json_response(answer.to_json())


async def list_shares(request: web.Request) -> web.StreamResponse:
    namespace, name = requests.secret_ref(
        request.match_info["namespace"], request.match_info["name"]
    )
    await _operator(request, "list", namespace, name)
    held = await request.app[CUSTODY].held(namespace, name)
    return web.json_response(nodeapi.held_to_json(held))


async def release_share(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    slot = requests.slot(info["namespace"], info["name"], info["version"])
    caller = await _operator(request, "release", slot.namespace, slot.name, slot)
    body = nodeapi.ReleaseRequest.from_json(await _json(request))
    answer = await request.app[CUSTODY].release(slot, body, actor=caller.username)
    _update_gauges(request.app)
    return web.json_response(answer.to_json())


async def destroy_shares(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    namespace, name = requests.secret_ref(info["namespace"], info["name"])
    slot = requests.slot(namespace, name, info["version"]) if "version" in info else None
    caller = await _operator(request, "destroy", namespace, name, slot)
    destroyed = await request.app[CUSTODY].destroy(
        namespace, name, slot.version if slot else None, actor=caller.username
    )
    _update_gauges(request.app)
    return web.json_response(nodeapi.Destroyed(tuple(destroyed)).to_json())


# -- delivery to pods ------------------------------------------------------------------


async def _pod(
    request: web.Request, namespace: str, name: str, slot: requests.Slot | None = None
) -> PodIdentity:
    """Let through only a pod's own bound token; ledger every refusal first. What that pod
    may receive is the custody's check, against each version's access rule."""
    authorize = request.app[AUTH].authorize_pod
    return await _gate(request, authorize, "delivery", namespace=namespace, name=name, slot=slot)


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    namespace, name = requests.secret_ref(
        request.match_info["namespace"], request.match_info["name"]
    )
    pod = await _pod(request, namespace, name)
    query = request.query
    after = requests.int_query(query, "after") if "after" in query else None
    wait = min(requests.int_query(query, "wait"), MAX_WAIT) if "wait" in query else 0
    custody = request.app[CUSTODY]
    if after is not None and wait:  # long poll: answer when a newer version is here
        versions = await custody.newer(namespace, name, pod, after, wait)
    else:
        versions = await custody.deliverable(namespace, name, pod)
    return web.json_response(nodeapi.Deliverable(versions).to_json())


async def deliver_share(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    slot = requests.slot(info["namespace"], info["name"], info["version"])
    pod = await _pod(request, slot.namespace, slot.name, slot)
    body = nodeapi.ReleaseRequest.from_json(await _json(request))
    answer = await request.app[CUSTODY].deliver(slot, body, pod)
    return web.json_response(answer.to_json())


def _update_gauges(app: web.Application) -> None:
    custody, metrics = app[CUSTODY], app[METRICS]
    metrics.shares_held.set(custody.shares_held)
    metrics.ledger_size.set(custody.ledger_size)


# -- ledger ----------------------------------------------------------------------------


async def checkpoint(request: web.Request) -> web.StreamResponse:
    note = await request.app[CUSTODY].checkpoint_with_cosignatures()
    return web.Response(text=note, content_type="text/plain")


async def entries(request: web.Request) -> web.StreamResponse:
    start = requests.int_query(request.query, "start")
    end = requests.int_query(request.query, "end")
    bodies = await request.app[CUSTODY].entries(start, end)
    return web.json_response({"start": start, "entries": [b64.encode(body) for body in bodies]})


async def inclusion(request: web.Request) -> web.StreamResponse:
    index = requests.int_query(request.query, "index")
    size = requests.int_query(request.query, "size", minimum=1)
    proof = await request.app[CUSTODY].inclusion_proof(index, size)
    return web.json_response(
        {"index": index, "size": size, "proof": [b64.encode(p) for p in proof]}
    )


async def consistency(request: web.Request) -> web.StreamResponse:
    old = requests.int_query(request.query, "old")
    new = requests.int_query(request.query, "new")
    proof = await request.app[CUSTODY].consistency_proof(old, new)
    return web.json_response({"old": old, "new": new, "proof": [b64.encode(p) for p in proof]})


async def witnessed(request: web.Request) -> web.StreamResponse:
    """What this node cosigned for each peer log, and the key it pinned for it."""
    states = await request.app[CUSTODY].run(Storage.all_witnessed)
    return web.json_response(
        [
            {
                "origin": state.origin,
                "signingKey": state.verifier_key,
                "size": state.size,
                "rootHash": b64.encode(state.root),
                "checkpoint": state.note,
            }
            for state in states
        ]
    )


async def add_checkpoint(request: web.Request) -> web.StreamResponse:
    """Only a peer's pod may ask, and only for its own log's checkpoint."""
    caller = await _gate(request, request.app[AUTH].authorize_peer, "add-checkpoint")
    assert caller.pod is not None
    origin = names.ledger_origin(caller.pod)
    witness = request.app[WITNESS]
    status, body, content_type = await witness.add_checkpoint(await request.read(), origin=origin)
    return web.Response(status=status, body=body, headers={"Content-Type": content_type})


# -- probes ----------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.StreamResponse:
    if not request.app[READY]():
        return error_response(503, "not ready: the ShareNode is not registered yet")
    return web.Response(text="ok\n")


async def metrics(request: web.Request) -> web.StreamResponse:
    _update_gauges(request.app)
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _stop_waiting(app: web.Application) -> None:
    await app[CUSTODY].stop_waiting()


def build_app(
    *,
    custody: Custody,
    auth: TokenAuthenticator,
    witness: WitnessServer,
    metrics_: NodeMetrics,
    ready: Callable[[], bool],
) -> web.Application:
    """The aiohttp application of one node."""
    app = web.Application(middlewares=[observe], client_max_size=MAX_BODY)
    app[CUSTODY], app[AUTH], app[WITNESS], app[METRICS], app[READY] = (
        custody,
        auth,
        witness,
        metrics_,
        ready,
    )
    app.on_shutdown.append(_stop_waiting)
    shares = "/v1/shares/{namespace}/{name}"
    app.router.add_put(shares + "/{version}", put_share)
    app.router.add_get(shares, list_shares)
    app.router.add_post(shares + "/{version}/release", release_share)
    app.router.add_delete(shares, destroy_shares)
    app.router.add_delete(shares + "/{version}", destroy_shares)
    deliveries = "/v1/deliveries/{namespace}/{name}"
    app.router.add_get(deliveries, list_deliveries)
    app.router.add_post(deliveries + "/{version}", deliver_share)
    app.router.add_get("/v1/ledger/checkpoint", checkpoint)
    app.router.add_get("/v1/ledger/entries", entries)
    app.router.add_get("/v1/ledger/proof/inclusion", inclusion)
    app.router.add_get("/v1/ledger/proof/consistency", consistency)
    app.router.add_get("/v1/ledger/witnessed", witnessed)
    app.router.add_post("/v1/ledger/add-checkpoint", add_checkpoint)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
