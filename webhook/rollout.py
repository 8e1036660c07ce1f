"""Restart opted-in workloads when a secret they consume gets a new version.

Why here and not in the operator: the webhook already watches every
DecentralizedSecret's ``status.version`` for its cache, and already knows how to read
which secrets a pod template consumes (the same annotations it injects from). See
docs/webhook.md.

Once per version, never in a loop: the restart writes the consumed versions into the
pod template annotation ``kuorum.io/secret-versions``; a workload whose template already
records the new version is left alone, so repeated events, relists and several webhook
replicas all converge on one rollout. The restart itself changes no secret, so it
cannot trigger another.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from kuorum import names
from kuorum.kube import events
from kuorum.kube.raw import raw
from kuorum.webhook.annotations import parse
from kuorum.webhook.denials import AnnotationError
from kuorum.webhook.metrics import Metrics
from kuorum.webhook.secretview import SecretView

COMPONENT = "kuorum-webhook"
RESTART_REASON = "SecretRotated"
RESTART_MESSAGE = (
    "restarting: DecentralizedSecret {secret} moved to version {version} "
    "(opted in by annotation {annotation})"
)
WORKLOAD_KINDS = {
    "Deployment": "deployment",
    "StatefulSet": "stateful_set",
    "DaemonSet": "daemon_set",
}
"""Kinds that can opt in, and the client method suffix of each."""
STRATEGIC_MERGE = "application/strategic-merge-patch+json"

logger = logging.getLogger(__name__)


def recorded_versions(template_annotations: Mapping[str, str]) -> dict[str, int]:
    """Read ``ns/name=version,...`` from the template; unreadable parts are ignored."""
    recorded: dict[str, int] = {}
    for part in template_annotations.get(names.SECRET_VERSIONS_ANNOTATION, "").split(","):
        key, _, version = part.strip().rpartition("=")
        if key and version.isdigit():
            recorded[key] = int(version)
    return recorded


def restart_patch(
    workload: Mapping[str, Any], rotated: SecretView, *, only_recorded: bool = False
) -> dict[str, Any] | None:
    """Return the patch restarting ``workload`` for ``rotated``, or None if not due.

    Due when the workload opted in, its pod template consumes ``rotated`` (by the
    kuorum.io annotations) and does not yet record ``rotated.version``. With
    ``only_recorded`` (catching up after the webhook was down) a workload must record
    an older version of it: one that never was restarted has nothing to compare with.
    """
    metadata = workload.get("metadata") or {}
    if (metadata.get("annotations") or {}).get(names.RESTART_ON_ROTATION_ANNOTATION) != "true":
        return None
    template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
    template_annotations = template.get("annotations") or {}
    namespace = str(metadata.get("namespace"))
    try:
        consumed = {ref.resolve(namespace) for ref in parse(template_annotations).secrets()}
    except AnnotationError:
        return None
    if (rotated.namespace, rotated.name) not in consumed or rotated.version is None:
        return None
    recorded = recorded_versions(template_annotations)
    key = f"{rotated.namespace}/{rotated.name}"
    if recorded.get(key) == rotated.version or (only_recorded and key not in recorded):
        return None
    recorded[key] = rotated.version
    value = ",".join(f"{k}={v}" for k, v in sorted(recorded.items()))
    return {
        "spec": {
            "template": {"metadata": {"annotations": {names.SECRET_VERSIONS_ANNOTATION: value}}}
        }
    }


def consumer_namespaces(rotated: SecretView) -> list[str]:
    """The secret's namespace and every other namespace its access lets consume it."""
    listed = (rotated.access.namespaces if rotated.access else None) or ()
    return list(dict.fromkeys([rotated.namespace, *listed]))


@dataclass
class Restarter:
    """A worker thread applying restarts for rotations announced by the cache."""

    api: client.ApiClient
    metrics: Metrics
    _queue: queue.Queue[tuple[SecretView, bool] | None] = field(default_factory=queue.Queue)

    def rotated(self, view: SecretView, before: int | None) -> None:
        """Cache listener: queue the rotation (the watch thread must not block on it)."""
        logger.info(
            "DecentralizedSecret %s/%s moved from version %s to %s",
            view.namespace,
            view.name,
            before,
            view.version,
        )
        self._queue.put((view, False))

    def catch_up(self, view: SecretView) -> None:
        """Cache first-list listener: restart consumers that record an older version."""
        self._queue.put((view, True))

    def start(self) -> None:
        threading.Thread(target=self._run, name="rollout-restarts", daemon=True).start()

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            view, only_recorded = work
            for namespace in consumer_namespaces(view):
                for kind in WORKLOAD_KINDS:
                    try:
                        self._restart_consumers(kind, namespace, view, only_recorded)
                    except client.ApiException as error:
                        logger.warning(
                            "cannot restart %ss in %s for %s/%s: %s",
                            kind,
                            namespace,
                            view.namespace,
                            view.name,
                            error.reason,
                        )

    def _restart_consumers(
        self, kind: str, namespace: str, view: SecretView, only_recorded: bool
    ) -> None:
        apps = client.AppsV1Api(self.api)
        plural = WORKLOAD_KINDS[kind]
        listed = raw(getattr(apps, f"list_namespaced_{plural}"), namespace)
        for workload in listed.get("items") or []:
            body = restart_patch(workload, view, only_recorded=only_recorded)
            if body is None:
                continue
            name = workload["metadata"]["name"]
            getattr(apps, f"patch_namespaced_{plural}")(
                name, namespace, body, _content_type=STRATEGIC_MERGE
            )
            self.metrics.rollout_restarts.labels(kind).inc()
            events.post(
                self.api,
                workload,
                reason=RESTART_REASON,
                message=RESTART_MESSAGE.format(
                    secret=f"{view.namespace}/{view.name}",
                    version=view.version,
                    annotation=names.RESTART_ON_ROTATION_ANNOTATION,
                ),
                component=COMPONENT,
                kind=kind,
                api_version="apps/v1",
            )
            logger.info("restarted %s %s/%s for version %s", kind, namespace, name, view.version)
