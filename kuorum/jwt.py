"""Read the claims of a service-account token (a JWT) without verifying it.

Only the apiserver (TokenReview) says whether a token is genuine. Its unverified claims
are still useful: a node refuses a token for another audience or an expired one without
asking, and an agent learns from its own token which ServiceAccount it runs as.
"""

from __future__ import annotations

import base64
import binascii
import json


def token_claims(token: str) -> dict[str, object] | None:
    """Decode a JWT payload WITHOUT verifying it (None if it is no JWT): only to refuse
    cheaply and to word errors; TokenReview decides."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None
