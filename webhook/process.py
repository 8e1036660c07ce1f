"""Run the webhook process: watches in threads, the HTTPS server on the event loop.

Wiring only; each job lives in its own module (cache, admission, server, tls, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from kubernetes import client

from kuorum import names
from kuorum.kube import events
from kuorum.kube.client import api_client
from kuorum.kube.informer import Informer
from kuorum.webhook import registration
from kuorum.webhook.admission import Admission
from kuorum.webhook.cache import SecretCache
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.nodecache import NodeCache
from kuorum.webhook.registration import CONFIGURATION_NAME
from kuorum.webhook.repair import LABEL_SELECTOR, RepairWatch
from kuorum.webhook.repair import MESSAGE as REPAIR_MESSAGE
from kuorum.webhook.repair import REASON as REPAIR_REASON
from kuorum.webhook.rollout import COMPONENT, Restarter
from kuorum.webhook.selftls import SelfManaged
from kuorum.webhook.server import create_app
from kuorum.webhook.tls import ClientCertificates, ServingContext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """How one webhook process runs (the command line, parsed)."""

    host: str = "0.0.0.0"  # noqa: S104 (a pod serves on every interface)
    port: int = 8443
    kubeconfig: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    reload_seconds: float = 10.0
    """How often mounted certificate files are checked for a change, in seconds."""
    namespace: str = names.SYSTEM_NAMESPACE
    """The webhook's own namespace: excluded from injection, holds its TLS Secret."""
    tls_secret: str | None = None
    """Self-managed TLS: the Secret (in ``namespace``) holding the CA and serving pair."""
    configuration_name: str = CONFIGURATION_NAME
    """Self-managed TLS: the MutatingWebhookConfiguration whose caBundle is kept current."""
    tls_sans: tuple[str, ...] = ()
    """Self-managed TLS: DNS names and IPs of the serving certificate."""
    renew_check_seconds: float = 600.0
    """Self-managed TLS: how often the pair is checked for renewal, in seconds."""
    client_ca: Path | None = None
    """Answer /mutate only to callers with a client certificate signed by this CA."""
    client_names: tuple[str, ...] = ()
    """With ``client_ca``: the common names accepted (empty: any the CA signed)."""
    agent_image: str = ""
    """Image of the ``kuorum agent`` sidecar for delivery Pod (empty: such pods refused)."""


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or _stop_on_signals()
    api = api_client(settings.kubeconfig)
    metrics = Metrics()
    cache = SecretCache()
    nodes = NodeCache()
    metrics.cached_secrets.set_function(lambda: len(cache))
    objects = partial(
        client.CustomObjectsApi(api).list_cluster_custom_object, names.GROUP, names.VERSION
    )
    watches = [
        Informer(
            what="DecentralizedSecrets",
            list_call=partial(objects, names.SECRET_PLURAL),
            on_list=cache.replace_all,
            on_event=cache.apply,
        ),
        Informer(
            what="ShareNodes",
            list_call=partial(objects, names.NODE_PLURAL),
            on_list=nodes.replace_all,
            on_event=nodes.apply,
        ),
    ]
    excluded = frozenset(registration.excluded_namespaces(settings.namespace))
    repair = RepairWatch(partial(_report_uninjected, api), excluded)
    metrics.uninjected_pods.set_function(lambda: repair.uninjected)
    watches.append(
        Informer(
            what="labelled pods",
            list_call=client.CoreV1Api(api).list_pod_for_all_namespaces,
            on_list=repair.on_list,
            on_event=repair.on_event,
            selectors={"label_selector": LABEL_SELECTOR},
        )
    )
    restarter = Restarter(api, metrics)
    cache.on_version_change(restarter.rotated)
    cache.on_first_list(restarter.catch_up)
    restarter.start()
    for informer in watches:
        threading.Thread(target=informer.run, name=informer.what, daemon=True).start()

    tls = ServingContext()
    callers = None
    if settings.client_ca is not None:
        tls.verify_clients(settings.client_ca)
        callers = ClientCertificates(settings.client_names)
    tasks: list[asyncio.Task[None]] = []
    if settings.tls_cert_file and settings.tls_key_file:
        tls.load_files(settings.tls_cert_file, settings.tls_key_file)
        tasks.append(asyncio.create_task(_reload_files(tls, settings)))
    elif settings.tls_secret:
        manager = SelfManaged(
            api,
            settings.namespace,
            settings.tls_secret,
            settings.configuration_name,
            settings.tls_sans,
        )
        await _renew(tls, manager)
        tasks.append(asyncio.create_task(_keep_renewing(tls, manager, settings)))
    metrics.certificate_expiry.set_function(lambda: tls.expires.timestamp() if tls.expires else 0.0)
    app = create_app(
        Admission(
            cache.lookup,
            excluded_namespaces=excluded,
            nodes=nodes.lookup,
            agent_image=settings.agent_image,
        ),
        metrics,
        ready=lambda: cache.synced and tls.expires is not None,
        callers=callers,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=tls.context)
        await site.start()
        logger.info("serving admission on https://%s:%d", settings.host, settings.port)
        await stop.wait()
    finally:
        for informer in watches:
            informer.stop()
        restarter.stop()
        for task in tasks:
            task.cancel()
        await runner.cleanup()


async def _reload_files(tls: ServingContext, settings: Settings) -> None:
    """Pick up certificate files rewritten in place (cert-manager, mounted Secrets)."""
    assert settings.tls_cert_file and settings.tls_key_file
    while True:
        await asyncio.sleep(settings.reload_seconds)
        try:
            if tls.load_files(settings.tls_cert_file, settings.tls_key_file):
                logger.info("reloaded the serving certificate from %s", settings.tls_cert_file)
        except (OSError, ValueError) as error:  # half-written files: keep serving the old pair
            logger.warning("cannot reload %s yet: %s", settings.tls_cert_file, error)


async def _renew(tls: ServingContext, manager: SelfManaged) -> None:
    """Ensure the stored pair is current; serve it if it is not the one served."""
    state = await asyncio.to_thread(manager.ensure, now=datetime.datetime.now(datetime.UTC))
    if tls.serving != state.serving:
        tls.load_pair(state.serving)


async def _keep_renewing(tls: ServingContext, manager: SelfManaged, settings: Settings) -> None:
    """Check the pair periodically; pick up a pair another replica renewed."""
    while True:
        await asyncio.sleep(settings.renew_check_seconds)
        try:
            await _renew(tls, manager)
        except (client.ApiException, OSError, ValueError, RuntimeError) as error:
            logger.warning("cannot renew the serving certificate yet: %s", error)


def _report_uninjected(api: client.ApiClient, pod: Mapping[str, Any]) -> None:
    metadata = pod.get("metadata") or {}
    logger.warning(
        "pod %s/%s is labelled for injection but was not injected",
        metadata.get("namespace"),
        metadata.get("name"),
    )
    events.post(
        api,
        pod,
        reason=REPAIR_REASON,
        message=REPAIR_MESSAGE.format(label=names.INJECT_LABEL),
        component=COMPONENT,
        kind="Pod",
        api_version="v1",
        event_type=events.WARNING,
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
