"""Errors of the ledger core: each says which piece of evidence failed and why.

KuorumError
 └─ LedgerError            the ledger's evidence does not hold up
     ├─ ProofError         a Merkle inclusion or consistency proof does not verify
     ├─ NoteError          a signed note, checkpoint or verifier key is malformed
     │   └─ SignatureError no valid signature from the expected key
     └─ EntryError         a ledger entry is malformed or not in canonical form
"""

from kuorum.errors import KuorumError


class LedgerError(KuorumError):
    """Base of every ledger error: the evidence is wrong, retrying will not help."""


class ProofError(LedgerError):
    """A Merkle proof, or the roots it links, does not verify."""


class NoteError(LedgerError):
    """A signed note, checkpoint or vkey breaks its C2SP format."""


class SignatureError(NoteError):
    """The note carries no valid signature from the expected key, or a bad one from it."""


class EntryError(LedgerError):
    """A ledger entry is malformed, out of range, or not in canonical form."""
