"""Leader election on a coordination.k8s.io Lease, so two replicas never deal at once.

kopf's peering only pauses lower-priority peers (and needs its own CRDs); a Lease gives
one active replica. The process blocks in :func:`acquire` until it holds the Lease, then
a daemon thread renews it. If renewal fails for longer than the lease lasts, another
replica may already lead: the process exits at once (the kubelet restarts it as a
standby) rather than reconcile beside a new leader.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client

logger = logging.getLogger(__name__)
LEASE_SECONDS = 15
RENEW_SECONDS = 5.0
RETRY_SECONDS = 2.0


class Elector:
    """Holds one Lease for ``identity``."""

    def __init__(self, api: client.ApiClient, *, namespace: str, name: str, identity: str) -> None:
        self._api = client.CoordinationV1Api(api)
        self.namespace, self.name, self.identity = namespace, name, identity

    def acquire(self) -> None:
        """Block until this process holds the Lease, then keep renewing it in the background."""
        while not self._try():
            time.sleep(RETRY_SECONDS)
        logger.info("leading: Lease %s/%s held by %s", self.namespace, self.name, self.identity)
        threading.Thread(target=self._renew_forever, name="lease-renewal", daemon=True).start()

    def _try(self, now: datetime | None = None) -> bool:
        """One attempt to take or renew the Lease; True when we hold it."""
        now = now or datetime.now(UTC)
        try:
            lease = self._api.read_namespaced_lease(self.name, self.namespace)
        except client.ApiException as error:
            if error.status != 404:
                raise
            body = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name),
                spec=client.V1LeaseSpec(**self._spec(now, acquired=True)),
            )
            try:
                self._api.create_namespaced_lease(self.namespace, body)
            except client.ApiException as conflict:
                if conflict.status == 409:
                    return False
                raise
            return True
        spec = lease.spec
        holder = spec.holder_identity if spec else None
        renewed = (spec.renew_time if spec else None) or datetime.min.replace(tzinfo=UTC)
        duration = timedelta(seconds=(spec.lease_duration_seconds if spec else 0) or LEASE_SECONDS)
        if holder not in (None, "", self.identity) and now < renewed + duration:
            return False
        lease.spec = client.V1LeaseSpec(**self._spec(now, acquired=holder != self.identity))
        if holder == self.identity and spec and spec.acquire_time:
            lease.spec.acquire_time = spec.acquire_time
        try:  # resourceVersion in the body makes this a compare-and-swap
            self._api.replace_namespaced_lease(self.name, self.namespace, lease)
        except client.ApiException as conflict:
            if conflict.status == 409:
                return False
            raise
        return True

    def _spec(self, now: datetime, *, acquired: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holder_identity": self.identity,
            "lease_duration_seconds": LEASE_SECONDS,
            "renew_time": now,
        }
        if acquired:
            spec["acquire_time"] = now
        return spec

    def _renew_forever(self) -> None:
        held_until = time.monotonic() + LEASE_SECONDS
        while True:
            time.sleep(RENEW_SECONDS)
            try:
                if self._try():
                    held_until = time.monotonic() + LEASE_SECONDS
                    continue
                logger.error("Lease %s/%s was taken by another replica", self.namespace, self.name)
            except (client.ApiException, OSError) as error:
                logger.warning("cannot renew Lease %s/%s: %s", self.namespace, self.name, error)
                if time.monotonic() < held_until:
                    continue
            logger.error("lost the Lease: exiting so that only one replica reconciles")
            os._exit(1)
