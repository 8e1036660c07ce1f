"""Errors a share node answers with; each carries its HTTP status.

    KuorumError
     └─ NodeError          status 500 unless a subclass says otherwise
         ├─ BadRequest     400: the request is malformed (names the field and the fix)
         ├─ InvalidShare   400: the share does not open or does not match its commitments
         ├─ Unauthenticated 401: no, invalid, expired or wrong-audience token
         ├─ Forbidden      403: authenticated, but not the operator identity
         ├─ NotFound       404: no such share, version or ledger range
         ├─ Conflict       409: a different share already holds this slot
         └─ Unavailable    503: the node is not ready yet

Messages name the object and the field, never share material or a token.
"""

from __future__ import annotations

from kuorum.errors import KuorumError


class NodeError(KuorumError):
    """Base of the node's answered errors."""

    status = 500


class BadRequest(NodeError):
    status = 400


class InvalidShare(NodeError):
    status = 400


class Unauthenticated(NodeError):
    status = 401


class Forbidden(NodeError):
    status = 403


class NotFound(NodeError):
    status = 404


class Conflict(NodeError):
    status = 409


class Unavailable(NodeError):
    status = 503
