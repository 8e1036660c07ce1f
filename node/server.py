"""Wire one share node together and run it until SIGTERM/SIGINT.

Start order matters: identity and database first (so the ledger records the start),
then the HTTPS listener, then registration (a node is Ready only once its ShareNode
describes it), then witnessing. Shutdown finishes queued writes before closing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import signal
import ssl
import sys
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from kubernetes.client import ApiClient

from kuorum import names
from kuorum.errors import UserError
from kuorum.kube.client import api_client
from kuorum.kube.tokenreview import review_token
from kuorum.ledger import Checkpoint, Cosigner, SignedNote, audit_node
from kuorum.models import CheckpointSummary, InvalidSpec, ShareNodeSpec, ShareNodeStatus
from kuorum.node.api import build_app
from kuorum.node.auth import TokenAuthenticator
from kuorum.node.custody import Custody
from kuorum.node.identity import Identity, load_or_create
from kuorum.node.log import NodeLog
from kuorum.node.metrics import NodeMetrics
from kuorum.node.registration import Registration
from kuorum.node.settings import NodeSettings
from kuorum.node.storage import Storage
from kuorum.node.witness import WitnessClient, WitnessServer

log = logging.getLogger("kuorum.node")

DATABASE = "node.db"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(settings: NodeSettings) -> None:
    """Run the node in the foreground (the ``kuorum node`` command)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    asyncio.run(run(settings))


def server_context(identity: Identity) -> ssl.SSLContext:
    """TLS 1.2+ serving context with the node's self-signed certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(identity.certificate_path, identity.key_path)
    return context


def share_node_spec(settings: NodeSettings, identity: Identity) -> ShareNodeSpec:
    """The ShareNode spec this node publishes, checked against the CRD's own limits."""
    try:
        return ShareNodeSpec.from_dict(
            {
                "endpoint": settings.endpoint,
                "zone": settings.zone,
                **identity.keys.public().to_dict(),
                "tlsCertificate": identity.certificate_pem,
            }
        )
    except InvalidSpec as error:
        raise UserError(f"node {settings.name} cannot register: {error}") from None


def check_own_ledger(name: str, storage: Storage, ledger: NodeLog) -> None:
    """Audit the stored ledger against the node's own last checkpoint, loudly.

    A mismatch means the database was edited or corrupted. The node keeps serving so
    the evidence stays readable: ``kuorum ledger verify`` and the peers' cosignatures
    will name it.
    """
    latest = storage.latest_checkpoint()
    if latest is None:
        return
    audit = audit_node(
        name, ledger.signer.verifier(), storage.entries(0, ledger.size), latest[1].encode()
    )
    for problem in audit.problems:
        log.error("node %s: its own ledger does not hold up: %s", name, problem)


async def run(settings: NodeSettings) -> None:
    """Serve until a termination signal; queued writes finish before the database closes."""
    identity = await asyncio.to_thread(
        load_or_create,
        settings.data_dir,
        name=settings.name,
        kem=settings.kem,
        sans=settings.tls_sans,
    )
    spec = share_node_spec(settings, identity)
    storage = await asyncio.to_thread(Storage, settings.data_dir / DATABASE)
    ledger = NodeLog(settings.origin, identity.keys.signing, storage.leaf_hashes())
    await asyncio.to_thread(check_own_ledger, settings.name, storage, ledger)
    custody = Custody(
        storage,
        ledger,
        identity.keys,
        settings.name,
        unsafe_corrupt_releases=settings.unsafe_corrupt_releases,
    )
    kube = api_client(settings.kubeconfig)
    try:
        await custody.record_start()
        await _serve(settings, identity, spec, custody, kube)
    finally:
        await asyncio.to_thread(custody.close)
        kube.close()


async def _serve(
    settings: NodeSettings,
    identity: Identity,
    spec: ShareNodeSpec,
    custody: Custody,
    kube: ApiClient,
) -> None:
    metrics = NodeMetrics()
    auth = TokenAuthenticator(
        functools.partial(review_token, kube),
        audience=names.node_audience(settings.name),
        operator_identity=settings.operator_identity,
        node_identity=settings.node_identity,
        cache_seconds=settings.token_cache_seconds,
    )

    async def status() -> ShareNodeStatus:
        note = await custody.checkpoint_with_cosignatures()
        checkpoint = Checkpoint.parse(SignedNote.parse(note.encode()).text.encode())
        root = base64.b64encode(checkpoint.root_hash).decode()
        return ShareNodeStatus(
            shares_held=custody.shares_held,
            ledger_size=custody.ledger_size,
            checkpoint=CheckpointSummary(checkpoint.size, root, note),
        )

    registration = Registration(
        kube, settings.name, spec, status, lambda: (custody.shares_held, custody.ledger_size)
    )
    witness = WitnessServer(
        custody, Cosigner(settings.origin, identity.keys.signing), settings.name
    )
    app = build_app(
        custody=custody,
        auth=auth,
        metrics_=metrics,
        ready=registration.registered.is_set,
        witness=witness,
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, ssl_context=server_context(identity)
        )
        try:
            await site.start()
        except OSError as error:
            raise UserError(
                f"node {settings.name} cannot listen on {settings.host}:"
                f"{settings.port}: {error.strerror}; choose another --listen"
            ) from None
        log.info(
            "node %s serving on https://%s:%d (endpoint %s, ledger %s, %d shares held)",
            settings.name,
            settings.host,
            settings.port,
            settings.endpoint,
            settings.origin,
            custody.shares_held,
        )
        await _until_signalled(
            registration.run(settings.heartbeat_interval),
            WitnessClient(kube, custody, settings.name, metrics, witness, settings.peer_tokens).run(
                settings.witness_interval
            ),
        )
        log.info("node %s stopping", settings.name)
    finally:
        await runner.cleanup()


async def _until_signalled(*background: Coroutine[Any, Any, None]) -> None:
    """Run ``background`` until SIGTERM or SIGINT, then cancel it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(coroutine) for coroutine in background]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
