"""C2SP signed notes: published known answers, the wire format, and tampering."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kuorum.ledger.errors import NoteError, SignatureError
from kuorum.ledger.note import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    NoteSignature,
    SignedNote,
    key_id,
    sign_note,
)

# golang.org/x/mod/sumdb/note, note_test.go and the package documentation.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()


def peter_signer() -> Ed25519NoteSigner:
    """The published private key: base64(0x01 || 32-byte seed) after the last '+'."""
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert seed[0] == 0x01
    return Ed25519NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def signer(name: str) -> Ed25519NoteSigner:
    return Ed25519NoteSigner(name, Ed25519PrivateKey.generate())


def test_signing_reproduces_the_published_note_byte_for_byte() -> None:
    note = sign_note(PETER_TEXT, [peter_signer()])
    assert note.format() == PETER_NOTE


def test_key_id_and_vkey_match_the_published_ones() -> None:
    verifier = peter_signer().verifier()
    assert verifier.key_id == bytes.fromhex("c74f20a3")
    assert verifier.vkey() == PETER_VKEY


def test_published_note_verifies_against_its_vkey() -> None:
    note = SignedNote.parse(PETER_NOTE)
    assert note.text == PETER_TEXT
    (signature,) = note.verify([Ed25519NoteVerifier.from_vkey(PETER_VKEY)])
    assert signature.name == "PeterNeumann"


def test_signature_lines_start_with_an_em_dash_and_a_space() -> None:
    line = sign_note("hello\n", [signer("a.example/log")]).signatures[0].line()
    assert line.encode().startswith(b"\xe2\x80\x94 a.example/log ")
    assert line.endswith("\n")


@pytest.mark.parametrize(
    "prefix",
    ["- ", "\u2013 ", "\u2014", "\u2014\u00a0"],
    ids=["hyphen", "en-dash", "no-space", "nbsp"],
)
def test_other_dashes_are_not_signature_lines(prefix: str) -> None:
    forged = PETER_NOTE.decode().replace("\u2014 ", prefix, 1)
    with pytest.raises(NoteError, match="em dash"):
        SignedNote.parse(forged.encode())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda n: n.replace(b"cryptography", b"cryptographY"),
        lambda n: n.replace(b"problem,", b"problem;"),
        lambda n: n.replace(b"x08go", b"x08gO"),
        lambda n: n.replace(b"JnAM=", b"JnAA="),
    ],
    ids=["body", "body-punctuation", "signature-start", "signature-end"],
)
def test_tampered_notes_are_rejected(tamper: Callable[[bytes], bytes]) -> None:
    tampered = tamper(PETER_NOTE)
    assert tampered != PETER_NOTE
    with pytest.raises(SignatureError, match="PeterNeumann"):
        SignedNote.parse(tampered).verify([Ed25519NoteVerifier.from_vkey(PETER_VKEY)])


def test_unknown_signatures_are_ignored() -> None:
    log, stranger = signer("a.example/log"), signer("b.example/other")
    namesake = signer("a.example/log")  # same name, another key, so another key ID
    note = sign_note("hello\n", [stranger, namesake, log])
    assert note.verify([log.verifier()]) == (note.signatures[2],)


def test_a_note_without_a_known_signature_is_rejected() -> None:
    note = sign_note("hello\n", [signer("b.example/other")])
    with pytest.raises(SignatureError, match=r"no signature from a\.example/log"):
        note.verify([signer("a.example/log").verifier()])


def test_a_bad_signature_from_a_known_key_rejects_the_note_even_beside_a_good_one() -> None:
    log = signer("a.example/log")
    good = sign_note("hello\n", [log])
    forged = NoteSignature(log.name, log.key_id, bytes(64))
    with pytest.raises(SignatureError, match="does not verify"):
        good.with_signatures(forged).verify([log.verifier()])


def test_text_is_separated_by_the_last_blank_line() -> None:
    log = signer("a.example/log")
    note = sign_note("first\n\nsecond\n", [log])
    parsed = SignedNote.parse(note.format())
    assert parsed == note
    assert parsed.verify([log.verifier()])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello\n", "no blank line"),
        (b"hello\n\n", "em dash"),
        (PETER_NOTE[:-1], "no blank line"),
        (b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "UTF-8"),
        (b"he\tllo\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character"),
        (b"hello\n\n\xe2\x80\x94 a !!!!\n", "base64"),
        (b"hello\n\n\xe2\x80\x94 a AAAA\n", "too short"),
        (b"hello\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "without spaces or"),
        (b"hello\n\n\xe2\x80\x94  AAAAAAA=\n", "without spaces or"),
        (b"hello\n\n" + b"\xe2\x80\x94 a AAAAAAA=\n" * 65, "more than 64"),
    ],
    ids=[
        "no-signatures",
        "blank-signature-line",
        "no-final-newline",
        "not-utf8",
        "tab",
        "bad-base64",
        "no-key-id",
        "plus-in-name",
        "empty-name",
        "too-many-signatures",
    ],
)
def test_malformed_notes_are_rejected_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        SignedNote.parse(data)


def test_sixty_four_signatures_are_accepted() -> None:
    log = signer("a.example/log")
    extra = [NoteSignature(f"w{i}.example", b"\0\0\0\0", bytes(64)) for i in range(63)]
    note = sign_note("hello\n", [log]).with_signatures(*extra)
    assert SignedNote.parse(note.format()).verify([log.verifier()])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        (PETER_VKEY.replace("c74f20a3", "c74f20a4"), "not its own"),
        (PETER_VKEY.replace("PeterNeumann", "PeterNeuman"), "not its own"),
        (PETER_VKEY.replace("+ARpc", "+BRpc"), "type 0x01"),
        (PETER_VKEY[:-1], "base64"),
        ("PeterNeumann+c74f20a3", "not <name>"),
        (PETER_VKEY.replace("c74f20a3", "C74F20A3"), "not <name>"),
        (f"PeterNeumann+{key_id('PeterNeumann', 1, b'').hex()}+AQ==", "expected 32"),
    ],
    ids=["key-id", "name", "type", "truncated", "missing-key", "uppercase-id", "short-key"],
)
def test_bad_vkeys_are_rejected(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Ed25519NoteVerifier.from_vkey(vkey)


def test_vkey_round_trip_with_a_plus_in_the_base64() -> None:
    # transparency-dev/formats note tests: the base64 of this key contains a '+'.
    vkey = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    assert Ed25519NoteVerifier.from_vkey(vkey).vkey() == vkey


def test_signing_text_without_a_final_newline_is_refused() -> None:
    with pytest.raises(NoteError, match="end with a newline"):
        sign_note("hello", [signer("a.example/log")])


@given(
    text=st.text(st.characters(codec="utf-8", min_codepoint=0x20) | st.just("\n")).map(
        lambda t: t + "\n"
    ),
    names=st.lists(st.sampled_from(["a.example/log", "b.example/w", "c"]), min_size=1, max_size=3),
)
def test_any_signed_text_round_trips_and_verifies(text: str, names: list[str]) -> None:
    signers = [signer(name) for name in names]
    note = sign_note(text, signers)
    parsed = SignedNote.parse(note.format())
    assert parsed == note
    assert parsed.verify([signers[-1].verifier()])
