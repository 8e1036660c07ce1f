"""The envelope's exceptions (the tree is drawn in :mod:`kuorum.envelope`)."""

from __future__ import annotations

from kuorum.errors import KuorumError


class EnvelopeError(KuorumError):
    """Base of every error raised by :mod:`kuorum.envelope`."""


class DecryptionFailed(EnvelopeError):
    """A ciphertext did not open. Deliberately says nothing about why."""


class BadSignature(EnvelopeError):
    """A sealed share was not signed by the expected sender for this context."""


class MalformedEnvelope(EnvelopeError, ValueError):
    """Bytes that are not a well-formed envelope of the expected kind and version."""


class InvalidKey(EnvelopeError, ValueError):
    """Key material (bytes, files, Secret data, ShareNode fields) that is not a usable key."""
