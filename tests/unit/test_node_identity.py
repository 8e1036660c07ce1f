"""The node identity on disk: created once with private modes, then reused."""

from __future__ import annotations

import stat
from pathlib import Path

from kuorum.node.identity import load_or_create
from kuorum.node.tls import certificate_names


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_private_files_and_later_starts_reuse_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_or_create(data, name="node-a", kem="X25519", sans=("127.0.0.1",))
    assert mode(data) == 0o700
    for path in [first.key_path, first.certificate_path, *(data / "keys").iterdir()]:
        assert mode(path) == 0o600, path
    again = load_or_create(data, name="node-a", kem="MLKEM768_X25519", sans=("127.0.0.1",))
    assert again.keys.public().fingerprint() == first.keys.public().fingerprint()
    assert again.keys.encryption.kem == "X25519"  # an existing key keeps its KEM
    assert again.certificate_pem == first.certificate_pem


def test_new_sans_get_a_new_certificate_but_keep_the_keys(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1",))
    fingerprint, old_pem = first.keys.public().fingerprint(), first.certificate_pem
    second = load_or_create(
        tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1", "node-a.kuorum.svc")
    )
    assert second.certificate_pem != old_pem
    assert certificate_names(second.certificate_pem.encode()) == {"127.0.0.1", "node-a.kuorum.svc"}
    assert second.keys.public().fingerprint() == fingerprint


def test_a_certificate_that_does_not_match_its_key_is_replaced(tmp_path: Path) -> None:
    """A crash between writing tls.key and tls.crt must not leave an unusable pair."""
    first = load_or_create(tmp_path / "a", name="a", kem="X25519", sans=("127.0.0.1",))
    other = load_or_create(tmp_path / "b", name="b", kem="X25519", sans=("127.0.0.1",))
    before = first.certificate_pem
    first.key_path.write_bytes(other.key_path.read_bytes())
    repaired = load_or_create(tmp_path / "a", name="a", kem="X25519", sans=("127.0.0.1",))
    assert repaired.certificate_pem not in (before, other.certificate_pem)


def test_a_half_written_key_directory_from_a_crash_is_discarded(tmp_path: Path) -> None:
    """Keys are staged and renamed into place, so a leftover stage never counts."""
    staging = tmp_path / ".keys.new"
    staging.mkdir(parents=True)
    (staging / "signing.key").write_bytes(b"half of an identity")
    identity = load_or_create(tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1",))
    assert not staging.exists()
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "encryption.key",
        "signing.key",
    ]
    again = load_or_create(tmp_path, name="node-a", kem="X25519", sans=("127.0.0.1",))
    assert again.keys.public().fingerprint() == identity.keys.public().fingerprint()
