"""Ask the apiserver who a bearer token belongs to (TokenReview, audience-bound).

Only the apiserver can say whether a service-account token is genuine, unexpired,
still bound to a live ServiceAccount and meant for our audience. This module makes
that one call; caching and the decision what an identity may do belong to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from kuorum.names import POD_NAME_EXTRA, POD_UID_EXTRA


@dataclass(frozen=True)
class Review:
    """What the apiserver said about a token (never the token itself)."""

    authenticated: bool
    username: str | None
    """``system:serviceaccount:<namespace>:<name>`` for service accounts."""
    audiences: tuple[str, ...]
    pod: str | None = None
    """The pod a pod-bound token belongs to (its user-info extra ``POD_NAME_EXTRA``)."""
    pod_uid: str | None = None
    """That pod's uid (``POD_UID_EXTRA``)."""


def review_token(api: client.ApiClient, token: str, audience: str) -> Review:
    """Review ``token`` for ``audience``; a token meant for another audience is rejected.

    Blocking (one API call): run it in a thread from async code.
    """
    body = client.V1TokenReview(
        spec=client.V1TokenReviewSpec(token=token, audiences=[audience]),
    )
    result = client.AuthenticationV1Api(api).create_token_review(body)
    status = result.status
    if status is None:
        return Review(authenticated=False, username=None, audiences=())
    audiences = tuple(status.audiences or ())
    user = status.user
    authenticated = bool(status.authenticated) and audience in audiences
    extra = (user.extra if authenticated and user is not None else None) or {}
    pods = extra.get(POD_NAME_EXTRA) or []
    uids = extra.get(POD_UID_EXTRA) or []
    return Review(
        authenticated=authenticated,
        username=user.username if authenticated and user is not None else None,
        audiences=audiences,
        pod=pods[0] if pods else None,
        pod_uid=uids[0] if uids else None,
    )
