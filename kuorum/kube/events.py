"""Post Kubernetes Events about an object, so `kubectl describe` shows what we did.

Events are the cluster operator's first place to look; messages here must name the
object and the fix, and never carry a secret value (docs/security.md).
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from kubernetes import client

NORMAL, WARNING = "Normal", "Warning"
MAX_MESSAGE = 1024

logger = logging.getLogger(__name__)


def post(
    api: client.ApiClient,
    obj: Mapping[str, Any],
    *,
    reason: str,
    message: str,
    component: str,
    kind: str,
    api_version: str,
    event_type: str = NORMAL,
) -> None:
    """Record an Event on ``obj`` (an API object as a dict); failures are only logged."""
    metadata = obj.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default")
    now = datetime.datetime.now(datetime.UTC)
    body: Any = {
        "metadata": {
            "name": f"{str(metadata.get('name'))[:200]}.{uuid.uuid4().hex[:12]}",
            "namespace": namespace,
        },
        "involvedObject": {
            "apiVersion": api_version,
            "kind": kind,
            "name": metadata.get("name"),
            "namespace": namespace,
            "uid": metadata.get("uid"),
        },
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "type": event_type,
        "source": {"component": component},
        "firstTimestamp": now.isoformat(),
        "lastTimestamp": now.isoformat(),
        "count": 1,
    }
    try:
        client.CoreV1Api(api).create_namespaced_event(namespace, body)
    except client.ApiException as error:
        logger.warning(
            "cannot post event %s on %s/%s: %s",
            reason,
            namespace,
            metadata.get("name"),
            error.reason,
        )
