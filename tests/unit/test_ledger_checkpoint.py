"""C2SP checkpoints and Ed25519 cosignatures: a real cosigned checkpoint, strict parsing."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kuorum.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from kuorum.ledger.cosignature import CosignatureVerifier, Cosigner, cosignature_time
from kuorum.ledger.errors import NoteError, SignatureError
from kuorum.ledger.note import Ed25519NoteSigner, Ed25519NoteVerifier, SignedNote

# A checkpoint of the arche2025h1 staging CT log with witness cosignatures, as published
# in the tests of a public C2SP implementation, with the log and witness vkeys.
ARCHE_NOTE = """arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u2014 arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u2014 transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
""".encode()  # noqa: E501 (published signature lines)
ARCHE_LOG = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
ARCHE_WITNESSES = [
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    "transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM",
]
ARCHE_COSIGNED_AT = 1779573024

ROOT = bytes(range(32))


def test_published_checkpoint_opens_with_the_log_key() -> None:
    checkpoint, note = open_checkpoint(ARCHE_NOTE, Ed25519NoteVerifier.from_vkey(ARCHE_LOG))
    assert checkpoint.origin == "arche2025h1.staging.ct.transparency.dev"
    assert checkpoint.size == 1432088532
    assert checkpoint.root_hash == base64.b64decode("U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=")
    assert len(note.signatures) == 4


@pytest.mark.parametrize("vkey", ARCHE_WITNESSES, ids=["remora", "little-garden"])
def test_published_cosignatures_verify(vkey: str) -> None:
    (cosignature,) = SignedNote.parse(ARCHE_NOTE).verify([CosignatureVerifier.from_vkey(vkey)])
    assert cosignature_time(cosignature) == ARCHE_COSIGNED_AT


@pytest.mark.parametrize("vkey", [ARCHE_LOG, *ARCHE_WITNESSES], ids=["log", "remora", "garden"])
def test_published_checkpoint_with_another_size_is_rejected(vkey: str) -> None:
    clobbered = ARCHE_NOTE.replace(b"\n1432088532\n", b"\n1432088533\n")
    verifier = (
        Ed25519NoteVerifier.from_vkey(vkey)
        if vkey == ARCHE_LOG
        else CosignatureVerifier.from_vkey(vkey)
    )
    with pytest.raises(SignatureError, match="does not verify"):
        SignedNote.parse(clobbered).verify([verifier])


def test_cosignature_key_ids_use_type_four() -> None:
    assert CosignatureVerifier.from_vkey(ARCHE_WITNESSES[0]).key_id == bytes.fromhex("da77ade7")
    with pytest.raises(NoteError, match="type 0x01"):
        Ed25519NoteVerifier.from_vkey(ARCHE_WITNESSES[0])
    with pytest.raises(NoteError, match="type 0x04"):
        CosignatureVerifier.from_vkey(ARCHE_LOG)


@given(
    origin=st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.text("abc xyz=", min_size=1), max_size=3),
)
def test_checkpoint_format_parse_round_trip(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(checkpoint.format()) == checkpoint


def test_checkpoint_text_is_exactly_three_lines_and_extensions() -> None:
    checkpoint = Checkpoint("kuorum.io/ledger/node-1", 20, ROOT, ("ext",))
    root64 = base64.b64encode(ROOT).decode()
    assert checkpoint.format() == f"kuorum.io/ledger/node-1\n20\n{root64}\next\n".encode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"origin\n20\n", "needs origin, size and root"),
        (b"origin\n020\nROOT\n", "not a decimal"),
        (b"origin\n-1\nROOT\n", "not a decimal"),
        (b"origin\n+1\nROOT\n", "not a decimal"),
        (b"origin\n 1\nROOT\n", "not a decimal"),
        (b"origin\n18446744073709551616\nROOT\n", "0..2"),
        (b"\n20\nROOT\n", "origin line"),
        (b"origin\n20\nROOT\n\n", "extension line"),
        (b"origin\n20\nROOT", "end with a newline"),
        (b"origin\n20\nAAEC\n", "3 bytes, not 32"),
        (b"origin\n20\nnot base64!\n", "not base64"),
        (b"origin\r\n20\nROOT\n", "control character"),
    ],
    ids=[
        "two-lines",
        "leading-zero",
        "negative",
        "plus-sign",
        "space",
        "over-uint64",
        "empty-origin",
        "empty-extension",
        "no-final-newline",
        "short-root",
        "bad-base64",
        "carriage-return",
    ],
)
def test_malformed_checkpoints_are_rejected(text: bytes, message: str) -> None:
    text = text.replace(b"ROOT", base64.b64encode(ROOT))
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(text)


def test_non_canonical_base64_root_is_rejected() -> None:
    canonical = base64.b64encode(ROOT)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(canonical[-2]) + 1]
    sloppy = canonical[:-2] + bytes([last]) + b"="  # same bytes, non-zero padding bits
    assert base64.b64decode(sloppy) == ROOT
    with pytest.raises(NoteError, match="canonical"):
        Checkpoint.parse(b"origin\n1\n" + sloppy + b"\n")


def test_signed_checkpoint_opens_only_with_its_own_key() -> None:
    log = Ed25519NoteSigner("kuorum.io/ledger/node-1", Ed25519PrivateKey.generate())
    checkpoint = Checkpoint(log.name, 3, ROOT)
    signed = sign_checkpoint(checkpoint, log)
    assert open_checkpoint(signed, log.verifier())[0] == checkpoint
    impostor = Ed25519NoteSigner(log.name, Ed25519PrivateKey.generate())
    with pytest.raises(SignatureError, match=r"no signature from kuorum\.io/ledger/node-1"):
        open_checkpoint(signed, impostor.verifier())
    with pytest.raises(SignatureError, match="no signature"):
        open_checkpoint(sign_checkpoint(checkpoint, impostor), log.verifier())


def test_cosignature_signs_the_c2sp_message() -> None:
    private = Ed25519PrivateKey.generate()
    body = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT).format()
    cosignature = Cosigner("witness.example/w1", private).cosign(body, 1679315147)
    assert cosignature.signature[:8] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + body
    private.public_key().verify(cosignature.signature[8:], message)  # raises if not


def test_cosignature_round_trip_and_tamper() -> None:
    log = Ed25519NoteSigner("kuorum.io/ledger/node-1", Ed25519PrivateKey.generate())
    witness = Cosigner("kuorum.io/witness/node-2", Ed25519PrivateKey.generate())
    body = Checkpoint(log.name, 7, ROOT).format()
    note = SignedNote.parse(sign_checkpoint(Checkpoint(log.name, 7, ROOT), log))
    cosigned = SignedNote.parse(note.with_signatures(witness.cosign(body, 1700000000)).format())
    (cosignature,) = cosigned.verify([witness.verifier()])
    assert cosignature_time(cosignature) == 1700000000
    assert CosignatureVerifier.from_vkey(witness.verifier().vkey()).key_id == witness.key_id

    later = cosignature.signature[:7] + b"\x01" + cosignature.signature[8:]
    assert not witness.verifier().verify(body, later)
    assert not witness.verifier().verify(body.replace(b"\n7\n", b"\n8\n"), cosignature.signature)
    assert not witness.verifier().verify(body, cosignature.signature[:-1])


def test_plain_and_cosignature_keys_never_stand_in_for_each_other() -> None:
    private = Ed25519PrivateKey.generate()
    plain, cosigner = Ed25519NoteSigner("n", private), Cosigner("n", private)
    assert plain.key_id != cosigner.key_id
    note = SignedNote("n\n0\n" + base64.b64encode(ROOT).decode() + "\n", ())
    signed = note.with_signatures(plain.sign(note.text.encode()))
    with pytest.raises(SignatureError, match="no signature"):
        signed.verify([cosigner.verifier()])


def test_cosignature_times_outside_the_spec_are_refused() -> None:
    cosigner = Cosigner("w", Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match="2\\^63"):
        cosigner.cosign(b"x\n0\n", 2**63)
    forged = b"\x80" + bytes(7) + bytes(64)
    assert not cosigner.verifier().verify(b"x\n0\n", forged)
