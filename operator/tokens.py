"""The operator's credential for each share node: its own token, one audience per node.

A node accepts only tokens for ``kuorum.io/node/<its name>``, so the operator asks the
TokenRequest API for one token per node (of its own ServiceAccount, the only one its
RBAC lets it mint for) and renews each when 80% of its lifetime has passed. A node that
replays the token it received is refused by every peer.
"""

from __future__ import annotations

import asyncio
import time

from kubernetes import client

from kuorum import names

LIFETIME = 600
"""Seconds a requested token lives (the TokenRequest minimum): a leaked one soon expires."""


class NodeTokens:
    """Hands out a valid token for each share node, by node name."""

    def __init__(self, api: client.ApiClient, *, namespace: str, account: str) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace = namespace
        self._account = account
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def __call__(self, node: str) -> str:
        """Return the token for ``node``, requesting a fresh one when it is close to expiry."""
        async with self._lock:
            token, renew_at = self._tokens.get(node, ("", 0.0))
            if time.monotonic() >= renew_at:
                token = await asyncio.to_thread(self._request, names.node_audience(node))
                self._tokens[node] = (token, time.monotonic() + 0.8 * LIFETIME)
            return token

    def _request(self, audience: str) -> str:
        spec = client.V1TokenRequestSpec(audiences=[audience], expiration_seconds=LIFETIME)
        answer = self._core.create_namespaced_service_account_token(
            self._account, self._namespace, client.AuthenticationV1TokenRequest(spec=spec)
        )
        if answer.status is None or not answer.status.token:
            raise RuntimeError(f"TokenRequest for {self._namespace}/{self._account} gave no token")
        return answer.status.token
