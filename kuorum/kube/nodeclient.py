"""Talk to share nodes over HTTPS: store, list, release and destroy shares.

TLS is pinned to the certificate each node publishes in its ShareNode, so the node's own
bearer token (audience ``kuorum.io/node/<name>``) is only ever sent to the node that holds
that key, and a store counts only with a receipt signed by the node's registered signing
key for exactly what was sent. Errors say which node and what happened; they never carry
share material.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from kuorum import receipts
from kuorum.errors import KuorumError
from kuorum.kube.pinned import pinned_context
from kuorum.nodeapi import (
    Deliverable,
    Destroyed,
    HeldVersion,
    Released,
    ReleaseRequest,
    SignedReceipt,
    StoreRequest,
    WireError,
    held_from_json,
)
from kuorum.receipts import InvalidReceipt, Receipt

CALL_SECONDS = 10
TIMEOUT = aiohttp.ClientTimeout(total=CALL_SECONDS, connect=3)
T = TypeVar("T")


class NodeError(KuorumError):
    """A node could not be reached or refused a call; ``kind`` labels the metric."""

    def __init__(self, node: str, kind: str, message: str) -> None:
        super().__init__(f"share node {node}: {message}")
        self.node = node
        self.kind = kind


class NodeClient:
    """One node's API, reached at its published endpoint with its certificate pinned."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        name: str,
        endpoint: str,
        certificate: str,
        signing_key: bytes,
        token: Callable[[], Awaitable[str]],
    ) -> None:
        self.name = name
        self._signing_key = signing_key
        self._session = session
        self._endpoint = endpoint.rstrip("/")
        self._ssl = pinned_context(certificate)
        self._token = token

    async def store(
        self, namespace: str, secret: str, version: int, body: StoreRequest
    ) -> SignedReceipt:
        """Store one sealed share; return the node's receipt, checked (a node that acks
        without a valid receipt is blamed as ``bad_receipt``)."""
        path = f"/v1/shares/{namespace}/{secret}/{version}"
        answer = self._parse(SignedReceipt.from_json, await self._call("PUT", path, body.to_json()))
        expected = Receipt.of(
            self.name,
            namespace,
            secret,
            version,
            body.index,
            sealed_share=body.sealed_share,
            commitments=body.commitments,
            payload=body.payload,
            ledger_index=0,
        )
        try:
            receipts.check(answer.receipt, answer.signature, self._signing_key, expected)
        except InvalidReceipt as error:
            raise NodeError(self.name, "bad_receipt", str(error)) from None
        return answer

    async def held(self, namespace: str, secret: str) -> list[HeldVersion]:
        """Versions of the secret this node holds (no share material)."""
        answer = await self._call("GET", f"/v1/shares/{namespace}/{secret}")
        return self._parse(held_from_json, answer)

    async def release(
        self, namespace: str, secret: str, version: int, *, key: bytes, kem: str, reason: str
    ) -> Released:
        """Ask for the share of ``version``, sealed to our ephemeral public ``key``."""
        body = ReleaseRequest(recipient_key=key, kem=kem, reason=reason).to_json()
        answer = await self._call(
            "POST", f"/v1/shares/{namespace}/{secret}/{version}/release", body
        )
        return self._parse(Released.from_json, answer)

    async def deliveries(
        self, namespace: str, secret: str, *, after: int | None = None, wait: int = 0
    ) -> Mapping[int, int]:
        """As a pod (its own token): the versions this node would deliver to that pod
        (thresholds by version); with ``after`` and ``wait``, once one is above ``after``
        or after ``wait`` seconds (a long poll)."""
        path = f"/v1/deliveries/{namespace}/{secret}"
        limits = TIMEOUT
        if after is not None and wait:
            path += f"?after={after}&wait={wait}"
            limits = aiohttp.ClientTimeout(total=wait + CALL_SECONDS, connect=TIMEOUT.connect)
        answer = await self._call("GET", path, limits=limits)
        return self._parse(Deliverable.from_json, answer).versions

    async def deliver(
        self, namespace: str, secret: str, version: int, *, key: bytes, kem: str, reason: str
    ) -> Released:
        """As a pod: the share of a delivery-Pod ``version``, sealed to our ephemeral ``key``."""
        request = ReleaseRequest(recipient_key=key, kem=kem, reason=reason)
        path = f"/v1/deliveries/{namespace}/{secret}/{version}"
        return self._parse(Released.from_json, await self._call("POST", path, request.to_json()))

    async def destroy(self, namespace: str, secret: str, version: int | None = None) -> list[int]:
        """Erase the shares of one version, or of every version when ``version`` is None."""
        path = f"/v1/shares/{namespace}/{secret}" + (f"/{version}" if version else "")
        return list(self._parse(Destroyed.from_json, await self._call("DELETE", path)).versions)

    def _parse(self, parse: Callable[[object], T], answer: object) -> T:
        """An answer in the API's shape, or a NodeError blaming this node."""
        try:
            return parse(answer)
        except WireError as error:
            raise NodeError(self.name, "malformed", f"malformed answer ({error})") from None

    async def _call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        limits: aiohttp.ClientTimeout = TIMEOUT,
    ) -> Any:
        headers = {"Authorization": f"Bearer {await self._token()}"}
        try:
            async with self._session.request(
                method,
                self._endpoint + path,
                json=body,
                headers=headers,
                ssl=self._ssl,
                timeout=limits,
            ) as response:
                data = await response.json(content_type=None)
                if response.status >= 400:
                    reason = _said(data.get("error") if isinstance(data, dict) else None)
                    raise NodeError(
                        self.name,
                        f"http_{response.status}",
                        f"{method} {path}: {response.status} {reason}".rstrip(),
                    )
                return data
        except NodeError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            kind = "timeout" if isinstance(error, TimeoutError) else "unreachable"
            raise NodeError(self.name, kind, f"{method} {path}: {type(error).__name__}") from None


NODE_TEXT = 200
"""Longest piece of a node's own error text we repeat (in logs only; Events and status
name the node and a reason code): a lying node must not write our logs for us."""


def _said(text: object) -> str:
    """A node's error text, made safe to repeat: printable, one line, bounded."""
    if not isinstance(text, str):
        return ""
    return "".join(c if c.isprintable() else " " for c in text[:NODE_TEXT])


@dataclass(frozen=True)
class Source:
    """One node to ask for a share, with the signing key pinned for it."""

    client: NodeClient
    signing_key: bytes
