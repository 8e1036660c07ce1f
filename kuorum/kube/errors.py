"""Describe Kubernetes API failures in one log-friendly line.

``ApiException`` renders its headers and body, which are long and may echo what was
sent; logs get the status and reason only.
"""

from __future__ import annotations


def brief(error: BaseException) -> str:
    """``HTTP 404 Not Found`` for API errors, ``Type: message`` for anything else."""
    status = getattr(error, "status", None)
    if status:
        return f"HTTP {status} {getattr(error, 'reason', '')}".strip()
    return f"{type(error).__name__}: {error}"
