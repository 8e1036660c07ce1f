"""Talk to share nodes over HTTPS: store, list, release and destroy shares.

TLS is pinned to the certificate each node publishes in its ShareNode, so the bearer
token (audience ``kuorum.io/node``) is only ever sent to the node that holds that key.
Errors say which node and what happened; they never carry share material.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from kuorum.kube.pinned import pinned_context

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


class NodeError(Exception):
    """A node could not be reached or refused a call; ``kind`` labels the metric."""

    def __init__(self, node: str, kind: str, message: str) -> None:
        super().__init__(f"share node {node}: {message}")
        self.node = node
        self.kind = kind


@dataclass(frozen=True)
class Released:
    """What a node released: the share sealed to our ephemeral key, and its context."""

    index: int
    sealed_share: bytes
    commitments: bytes
    payload: bytes


class NodeClient:
    """One node's API, reached at its published endpoint with its certificate pinned."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        name: str,
        endpoint: str,
        certificate: str,
        token: Callable[[], Awaitable[str]],
    ) -> None:
        self.name = name
        self._session = session
        self._endpoint = endpoint.rstrip("/")
        self._ssl = pinned_context(certificate)
        self._token = token

    async def store(
        self, namespace: str, secret: str, version: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Store one sealed share; return the node's signed receipt answer."""
        path = f"/v1/shares/{namespace}/{secret}/{version}"
        answer: dict[str, Any] = await self._call("PUT", path, body)
        return answer

    async def held(self, namespace: str, secret: str) -> list[dict[str, Any]]:
        """Versions of the secret this node holds (no share material)."""
        answer: list[dict[str, Any]] = await self._call("GET", f"/v1/shares/{namespace}/{secret}")
        return answer

    async def release(
        self, namespace: str, secret: str, version: int, *, key: bytes, kem: str, reason: str
    ) -> Released:
        """Ask for the share of ``version``, sealed to our ephemeral public ``key``."""
        body = {"recipientKey": _b64(key), "kem": kem, "reason": reason}
        answer = await self._call(
            "POST", f"/v1/shares/{namespace}/{secret}/{version}/release", body
        )
        try:
            return Released(
                index=int(answer["index"]),
                sealed_share=base64.b64decode(answer["sealedShare"]),
                commitments=base64.b64decode(answer["commitments"]),
                payload=base64.b64decode(answer["payload"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise NodeError(self.name, "malformed", f"malformed release answer ({error})") from None

    async def destroy(self, namespace: str, secret: str, version: int | None = None) -> list[int]:
        """Erase the shares of one version, or of every version when ``version`` is None."""
        path = f"/v1/shares/{namespace}/{secret}" + (f"/{version}" if version else "")
        answer = await self._call("DELETE", path)
        return [int(v) for v in answer.get("destroyed", [])]

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        headers = {"Authorization": f"Bearer {await self._token()}"}
        try:
            async with self._session.request(
                method,
                self._endpoint + path,
                json=body,
                headers=headers,
                ssl=self._ssl,
                timeout=TIMEOUT,
            ) as response:
                data = await response.json(content_type=None)
                if response.status >= 400:
                    reason = data.get("error", "") if isinstance(data, dict) else ""
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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
