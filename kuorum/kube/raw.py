"""Call a generated client method and get the API's JSON as plain dicts.

The generated models drop fields they do not know and cost a deserialization per call;
components that only read a few fields (or custom resources) want the JSON as sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``call(*args, **kwargs)``'s response body, parsed from JSON."""
    response: Any = call(*args, _preload_content=False, **kwargs)
    return json.loads(response.data)
