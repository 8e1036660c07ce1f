"""The pod's own tokens: one file per node (audience that node), read fresh at each use,
because the kubelet rotates projected tokens in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from kuorum.errors import UserError
from kuorum.jwt import token_claims
from kuorum.kube.nodeclient import NodeError
from kuorum.names import SERVICE_ACCOUNT_PREFIX


class NoIdentity(UserError):
    """The pod's token does not say which ServiceAccount the pod runs as."""


def token_file(directory: str, node: str) -> Path:
    """Where the pod's token for ``node`` is mounted (the file is named like the node)."""
    return Path(directory) / node


def reader(directory: str, node: str) -> Callable[[], Awaitable[str]]:
    """A ``NodeClient`` token source: the file of ``node``, read at each call; a missing
    or unreadable file is that node's failure, named like any other."""
    path = token_file(directory, node)

    async def token() -> str:
        try:
            return _read(path)
        except OSError as error:
            raise NodeError(
                node, "no_token", f"cannot read the pod's token for it at {path}: {error.strerror}"
            ) from None

    return token


def service_account(directory: str, node: str) -> str:
    """The pod's ServiceAccount username, ``system:serviceaccount:<ns>:<sa>``: the caller
    identity nodes seal delivered shares to. Taken from the ``sub`` claim of the pod's own
    token, unverified: it is our own token, and a wrong name only makes shares not open."""
    path = token_file(directory, node)
    try:
        claims = token_claims(_read(path))
    except OSError as error:
        raise NoIdentity(
            f"cannot read the pod's token {path}: {error.strerror}; the webhook mounts one "
            "projected service-account token per node there"
        ) from None
    subject = claims.get("sub") if claims else None
    if not isinstance(subject, str) or not subject.startswith(SERVICE_ACCOUNT_PREFIX):
        raise NoIdentity(
            f"{path} is not a service-account token (its 'sub' claim is not "
            f"{SERVICE_ACCOUNT_PREFIX}<namespace>:<name>); mount a projected token there"
        )
    return subject


def _read(path: Path) -> str:
    return path.read_text().strip()
