"""Who may consume a DecentralizedSecret: the one rule, enforced by the webhook at admission.

A pod (namespace, service account) may consume the secret ``secret_namespace/name`` when

1. its namespace is the secret's own, or is listed in ``spec.access.namespaces``; and
2. ``spec.access.serviceAccounts`` is absent, or lists the pod's service account as
   ``namespace:name``, or as a bare ``name`` when the pod runs in the secret's namespace
   (a bare name means that namespace, as RBAC subjects do).

Anything else is denied, and the reason names the rule that denied it, so a denial in an
admission response, a node's ledger or an Event tells the user what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from kuorum import names
from kuorum.models import Access


@dataclass(frozen=True)
class Decision:
    """The outcome and, always, the rule behind it (safe to log: names only)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def evaluate(
    access: Access | None,
    *,
    secret_namespace: str,
    namespace: str,
    service_account: str,
    secret_name: str | None = None,
) -> Decision:
    """May a pod of ``namespace`` running as ``service_account`` consume the secret?

    ``access`` is the parsed ``spec.access`` (a resource that does not parse is refused
    before this: enforcement fails closed). ``secret_name`` only sharpens the reason
    (``team-a/db-creds`` instead of ``namespace team-a``).
    """
    ref = f"{secret_namespace}/{secret_name}" if secret_name else f"namespace {secret_namespace}"
    access = access or Access()
    who = f"{namespace}:{service_account}"

    if namespace != secret_namespace and namespace not in (access.namespaces or ()):
        if access.namespaces is None:
            return Decision(
                False,
                f"namespace {namespace} may not consume {ref}: "
                f"spec.access.namespaces is not set, so only pods of "
                f"namespace {secret_namespace} may",
            )
        return Decision(False, f"namespace {namespace} is not in spec.access.namespaces of {ref}")
    via = (
        "is the secret's own namespace"
        if namespace == secret_namespace
        else "is in spec.access.namespaces"
    )
    if access.service_accounts is None:
        return Decision(
            True,
            f"namespace {namespace} {via} of {ref} and "
            f"spec.access.serviceAccounts is not set (any service account)",
        )
    names = {who}
    if namespace == secret_namespace:
        names.add(service_account)
    if names.isdisjoint(access.service_accounts):
        return Decision(
            False, f"service account {who} is not in spec.access.serviceAccounts of {ref}"
        )
    return Decision(True, f"service account {who} is in spec.access.serviceAccounts of {ref}")


def service_account_of(username: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of a TokenReview username ``system:serviceaccount:ns:name``,
    or None for any other user (which no access rule can allow)."""
    if not username.startswith(names.SERVICE_ACCOUNT_PREFIX):
        return None
    namespace, _, name = username.removeprefix(names.SERVICE_ACCOUNT_PREFIX).partition(":")
    if not namespace or not name or ":" in name:
        return None
    return namespace, name
