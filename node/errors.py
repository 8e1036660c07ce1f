"""Errors a share node answers with; each carries its HTTP status.

    KuorumError
     └─ ApiError           status 500 unless a subclass says otherwise (what a node answers)
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


class ApiError(KuorumError):
    """Base of the node's answered errors."""

    status = 500


class BadRequest(ApiError):
    status = 400


class InvalidShare(ApiError):
    status = 400


class Unauthenticated(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Unavailable(ApiError):
    status = 503
