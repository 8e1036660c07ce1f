"""Who may store, release and destroy shares: per-node bearer tokens checked by TokenReview.

Each node accepts only tokens whose audience is its own (``kuorum.io/node/<name>``), so
a token the operator sent to one node is refused by every other: a node that replays
what it received gets nothing from its peers. Cheap checks come first (JWT shape,
audience, expiry, tokens refused a moment ago), so an anonymous flood costs no
TokenReview; the reviews that do run are bounded in number at once. A positive answer
is trusted for a few seconds only, never past the token's own expiry, so a deleted
ServiceAccount stops working promptly. Tokens are never logged, stored or echoed; the
caches are keyed by their SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kuorum.errors import KuorumError
from kuorum.jwt import token_claims
from kuorum.kube.tokenreview import Review
from kuorum.policy import service_account_of

REFUSED_SECONDS = 30.0
"""How long a token TokenReview refused is refused again without asking."""

CACHE_LIMIT = 4096
"""Entries kept at most per cache; a full cache is emptied (tokens are few and long-lived)."""

REVIEWS_AT_ONCE = 4
"""TokenReviews in flight at most: a flood of plausible tokens queues, the apiserver does not."""

V = TypeVar("V")

Reviewer = Callable[[str, str], Review]
"""Blocking TokenReview call ``(token, audience)`` (run in a thread)."""


class Refused(KuorumError):
    """A request the node will not serve: 401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, reason: str, *, actor: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.actor = actor


@dataclass(frozen=True)
class Caller:
    """An authenticated identity, e.g. ``system:serviceaccount:kuorum-system:kuorum-operator``,
    and the pod its token is bound to, if any."""

    username: str
    pod: str | None = None
    pod_uid: str | None = None

    @property
    def pod_identity(self) -> PodIdentity | None:
        """Namespace, ServiceAccount and pod of a pod-bound service-account token."""
        account = service_account_of(self.username)
        if account is None or self.pod is None or self.pod_uid is None:
            return None
        return PodIdentity(*account, self.pod, self.pod_uid)


@dataclass(frozen=True)
class PodIdentity:
    """Who a pod is, as the apiserver said in its TokenReview: what delivery checks."""

    namespace: str
    service_account: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"pod {self.namespace}/{self.name} (uid {self.uid}, {self.service_account})"


def _precheck(claims: dict[str, object] | None, audience: str, now: float) -> str | None:
    """Why the token cannot pass TokenReview, judged from its unverified claims, or None."""
    hint = f"request a token with audience {audience} (TokenRequest spec.audiences)"
    if claims is None:
        return f"the bearer token is not a service-account token (JWT); {hint}"
    audiences = claims.get("aud")
    audience_list = audiences if isinstance(audiences, list) else [audiences]
    if audience not in audience_list:
        return f"token is not meant for this node (audience {audience}); {hint}"
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float) or expiry <= now:
        return f"token has expired or has no expiry; {hint}"
    return None


class TokenAuthenticator:
    """Turn an ``Authorization`` header into the operator's identity, or refuse."""

    def __init__(
        self,
        reviewer: Reviewer,
        *,
        audience: str,
        operator_identity: str,
        node_identity: str,
        cache_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._reviewer = reviewer
        self.audience = audience
        self.operator_identity = operator_identity
        self.node_identity = node_identity
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._accepted: dict[bytes, tuple[Caller, float]] = {}
        self._refused: dict[bytes, float] = {}
        self._reviews = asyncio.Semaphore(REVIEWS_AT_ONCE)

    async def authenticate(self, authorization: str | None) -> Caller:
        """Return the caller for a ``Bearer`` header, or raise :class:`Refused` (401)."""
        token = _bearer(authorization, self.audience)
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        accepted = self._accepted.get(key)
        if accepted is not None and now < accepted[1]:
            return accepted[0]
        self._accepted.pop(key, None)
        claims = token_claims(token)
        reason = _precheck(claims, self.audience, now)
        if reason is not None:
            raise Refused(401, reason)
        assert claims is not None
        if self._refused.get(key, 0.0) > now:
            raise Refused(401, self._review_refusal())
        async with self._reviews:
            review = await asyncio.to_thread(self._reviewer, token, self.audience)
        if not review.authenticated or review.username is None:
            _put(self._refused, key, now + REFUSED_SECONDS)
            raise Refused(401, self._review_refusal())
        caller = Caller(review.username, review.pod, review.pod_uid)
        until = min(now + self._cache_seconds, float(claims["exp"]))  # type: ignore[arg-type]
        if until > now:
            _put(self._accepted, key, (caller, until))
        return caller

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

    async def authorize_peer(self, authorization: str | None) -> Caller:
        """Like :meth:`authenticate`, and refuse (403) anyone but a share node's pod: the
        node account with a pod-bound token (its pod names the node)."""
        caller = await self.authenticate(authorization)
        if caller.username != self.node_identity or caller.pod is None:
            raise Refused(
                403,
                f"{caller.username} may not submit checkpoints; only a share node may, with "
                f"the token of its pod ({self.node_identity}, set --node-identity otherwise)",
                actor=caller.username,
            )
        return caller

    async def authorize_pod(self, authorization: str | None) -> PodIdentity:
        """Like :meth:`authenticate`, and refuse (403) anything but a pod's own bound
        service-account token (a projected token for this node's audience)."""
        caller = await self.authenticate(authorization)
        pod = caller.pod_identity
        if pod is None:
            raise Refused(
                403,
                f"{caller.username} has no pod-bound token; shares are delivered only to "
                f"pods, with a projected service-account token for audience {self.audience}",
                actor=caller.username,
            )
        return pod

    def _review_refusal(self) -> str:
        return (
            "token was not accepted by TokenReview (invalid, revoked, or its ServiceAccount "
            f"or pod was deleted); request a fresh token with audience {self.audience}"
        )


def _put(cache: dict[bytes, V], key: bytes, value: V) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _bearer(authorization: str | None, audience: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(
            401,
            f"no bearer token; send 'Authorization: Bearer <token>' with a "
            f"service-account token for audience {audience}",
        )
    return token
