"""The operator's node-audience token: from a projected file in a pod, else TokenRequest.

In a pod the kubelet keeps a projected ``serviceAccountToken`` (audience
``kuorum.io/node``) fresh on disk and we read it each time. Elsewhere (``kuorum dev up``,
tests) the operator asks the TokenRequest API for a token of its own ServiceAccount and
renews it when 80% of its lifetime has passed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from kubernetes import client

from kuorum import names

LIFETIME = 3600
"""Seconds a requested token lives."""


class NodeTokens:
    """Hands out a valid token for the share nodes."""

    def __init__(
        self, api: client.ApiClient, *, namespace: str, account: str, file: Path | None = None
    ) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace = namespace
        self._account = account
        self._file = file
        self._token = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        """Return a token, renewing it first when it is close to expiry."""
        if self._file is not None:
            return self._file.read_text().strip()
        async with self._lock:
            if time.monotonic() >= self._renew_at:
                self._token = await asyncio.to_thread(self._request)
                self._renew_at = time.monotonic() + 0.8 * LIFETIME
            return self._token

    def _request(self) -> str:
        spec = client.V1TokenRequestSpec(
            audiences=[names.NODE_TOKEN_AUDIENCE], expiration_seconds=LIFETIME
        )
        answer = self._core.create_namespaced_service_account_token(
            self._account, self._namespace, client.AuthenticationV1TokenRequest(spec=spec)
        )
        if answer.status is None or not answer.status.token:
            raise RuntimeError(f"TokenRequest for {self._namespace}/{self._account} gave no token")
        return answer.status.token
