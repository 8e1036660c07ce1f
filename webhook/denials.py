"""Why the webhook refuses a pod: one exception per reason, each with its HTTP code.

    KuorumError
     └─ Denial                the pod is refused; ``code`` goes into the AdmissionReview
         ├─ AnnotationError   400: a kuorum.io annotation cannot be parsed
         ├─ ConflictError     400: the pod already uses a name or path the injection needs
         ├─ AccessDenied      403: the secret's spec.access does not allow this pod
         ├─ SecretMissing     404: a named DecentralizedSecret does not exist
         └─ SecretNotReady    503: it exists but is not Ready yet (retry later)

Every message names the object, the field and what to do; none carries a secret value.
"""

from __future__ import annotations

from kuorum.errors import KuorumError


class Denial(KuorumError):
    """The pod is refused; ``str(self)`` is shown to whoever created it."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AnnotationError(Denial):
    """A kuorum.io annotation of the pod is malformed."""

    code = 400


class ConflictError(Denial):
    """The pod already holds an env var, volume or mount path the injection needs."""

    code = 400


class AccessDenied(Denial):
    """The pod's namespace or service account is not allowed by the secret's access."""

    code = 403


class SecretMissing(Denial):
    """A named DecentralizedSecret does not exist (fail closed)."""

    code = 404


class SecretNotReady(Denial):
    """A named DecentralizedSecret is not Ready, so its target Secret may not exist."""

    code = 503
