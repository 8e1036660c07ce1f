"""Whether an element already in a pod is the one the webhook would add.

The apiserver calls the webhook again on a pod it already patched; what is present with
the same content is skipped, anything else of the same name is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def covers(current: Any, wanted: Any) -> bool:
    """Tell whether ``current`` holds everything ``wanted`` sets.

    Fields the apiserver defaulted after our first answer (``defaultMode``...) are extra
    in ``current`` and do not count as a difference.
    """
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(
            covers(current.get(key), value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(covers(c, w) for c, w in zip(current, wanted, strict=True))
        )
    return bool(current == wanted)
