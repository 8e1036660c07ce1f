"""The one error a malformed resource raises, so every reader reports it the same way.

KuorumError
 └─ UserError
     └─ InvalidSpec   a field of a DecentralizedSecret or ShareNode is wrong
"""

from __future__ import annotations

from kuorum.errors import UserError


class InvalidSpec(UserError, ValueError):
    """A field is wrong: names the object (when known), the field path and the fix."""

    def __init__(self, path: str, problem: str, fix: str, *, obj: str | None = None) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        self.obj = obj
        where = f"{obj}: {path}" if obj else path
        super().__init__(f"{where}: {problem}; {fix}")

    def about(self, obj: str) -> InvalidSpec:
        """The same error, naming the object it was found in (e.g. ``DecentralizedSecret a/b``)."""
        return InvalidSpec(self.path, self.problem, self.fix, obj=obj)
