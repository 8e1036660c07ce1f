"""Errors shared by every command.

KuorumError
 └─ UserError   a problem the user can fix; the CLI prints it without a traceback
"""


class KuorumError(Exception):
    """Base of every error Kuorum raises on purpose."""


class UserError(KuorumError):
    """A problem the user can fix: says what was wrong, which object, and what to do."""
