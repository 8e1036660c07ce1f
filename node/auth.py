"""Who may store, release and destroy shares: bearer tokens checked by TokenReview.

The operator presents a service-account token bound to ``kuorum.io/node``. The node
asks the apiserver (TokenReview) and remembers a positive answer for a short time,
never past the token's own expiry, so a warm cache costs no API call per request.
Only the configured operator identity passes; everyone else is refused with a reason
the caller can act on. Tokens are never logged, stored or echoed; the cache is keyed
by their SHA-256.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from kuorum.errors import KuorumError
from kuorum.kube.tokenreview import Review
from kuorum.names import NODE_TOKEN_AUDIENCE

CACHE_SECONDS = 60.0
"""Longest time a positive TokenReview is trusted without asking again."""

CACHE_LIMIT = 4096
"""Entries kept at most; the cache is emptied when full (tokens are few and long-lived)."""

Reviewer = Callable[[str], Review]
"""Blocking TokenReview call for the node audience (run in a thread)."""


class Refused(KuorumError):
    """A request the node will not serve: 401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, reason: str, *, actor: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.actor = actor


@dataclass(frozen=True)
class Caller:
    """An authenticated identity, e.g. ``system:serviceaccount:kuorum-system:kuorum-operator``."""

    username: str


def token_claims(token: str) -> dict[str, object]:
    """Decode a JWT payload WITHOUT verifying it: only to bound the cache and word errors."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _unauthenticated_reason(claims: dict[str, object], now: float) -> str:
    """Say why a token failed, from its unverified claims, as a hint the caller can use."""
    audiences = claims.get("aud")
    audience_list = audiences if isinstance(audiences, list) else [audiences]
    if audiences is not None and NODE_TOKEN_AUDIENCE not in audience_list:
        return (
            f"token is not meant for audience {NODE_TOKEN_AUDIENCE}; request one with "
            f"audience {NODE_TOKEN_AUDIENCE} (TokenRequest spec.audiences)"
        )
    expiry = claims.get("exp")
    if isinstance(expiry, int | float) and expiry <= now:
        return "token has expired; request a fresh service-account token"
    return (
        "token was not accepted by TokenReview (invalid, expired, or its ServiceAccount "
        "was deleted); request a fresh service-account token"
    )


class TokenAuthenticator:
    """Turn an ``Authorization`` header into the operator's identity, or refuse."""

    def __init__(
        self,
        reviewer: Reviewer,
        *,
        operator_identity: str,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reviewer = reviewer
        self.operator_identity = operator_identity
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[bytes, tuple[str, float]] = {}

    async def authenticate(self, authorization: str | None) -> Caller:
        """Return the caller for a ``Bearer`` header, or raise :class:`Refused` (401)."""
        token = _bearer(authorization)
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now < cached[1]:
            return Caller(cached[0])
        self._cache.pop(key, None)
        review = await asyncio.to_thread(self._reviewer, token)
        claims = token_claims(token)
        if not review.authenticated or review.username is None:
            raise Refused(401, _unauthenticated_reason(claims, now))
        self._remember(key, review.username, claims, now)
        return Caller(review.username)

    async def authorize_operator(self, authorization: str | None) -> Caller:
        """Like :meth:`authenticate`, and refuse (403) anyone but the operator identity."""
        caller = await self.authenticate(authorization)
        if caller.username != self.operator_identity:
            raise Refused(
                403,
                f"{caller.username} may not handle shares; only {self.operator_identity} may "
                "(set --operator-identity on the node if the operator runs as another account)",
                actor=caller.username,
            )
        return caller

    def _remember(self, key: bytes, username: str, claims: dict[str, object], now: float) -> None:
        until = now + self._cache_seconds
        expiry = claims.get("exp")
        if isinstance(expiry, int | float):
            until = min(until, float(expiry))
        if until <= now:
            return
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (username, until)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(
            401,
            f"no bearer token; send 'Authorization: Bearer <token>' with a "
            f"service-account token for audience {NODE_TOKEN_AUDIENCE}",
        )
    return token
