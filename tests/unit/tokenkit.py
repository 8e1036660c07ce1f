"""Unsigned JWT-shaped tokens for unit tests of code that reads claims before TokenReview."""

from __future__ import annotations

import base64
import json


def make_token(**claims: object) -> str:
    """A token with these claims and no valid signature (only TokenReview fakes accept it)."""

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"
