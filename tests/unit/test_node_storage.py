"""SQLite custody: one transaction per change, restrictive permissions, atomic rollback."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from pathlib import Path

import pytest

from kuorum.node.storage import Append, Storage, StoredShare, Witnessed


def share(version: int, sealed: bytes = b"sealed") -> StoredShare:
    return StoredShare(
        "team",
        "db",
        version,
        2,
        3,
        sealed,
        b"commitments",
        b"payload",
        b"digest",
        b"receipt",
        b"signature",
    )


def commit(storage: Storage, index: int, **change: object) -> None:
    entry = Append(index, f"entry {index}".encode(), bytes([index]) * 32)
    storage.commit([entry], size=index + 1, checkpoint=f"checkpoint {index}", **change)  # type: ignore[arg-type]


def test_database_file_is_private(tmp_path: Path) -> None:
    Storage(tmp_path / "node.db").close()
    assert stat.S_IMODE((tmp_path / "node.db").stat().st_mode) == 0o600


def test_share_and_its_entry_land_together_and_survive_reopen(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "node.db")
    commit(storage, 0, put=share(1))
    storage.close()
    storage = Storage(tmp_path / "node.db")
    assert storage.share("team", "db", 1) == share(1)
    assert storage.entries(0, 10) == [b"entry 0"]
    assert storage.leaf_hashes() == [bytes([0]) * 32]
    assert storage.latest_checkpoint() == (1, "checkpoint 0")
    assert storage.share_count() == 1


def test_a_failed_change_leaves_neither_entry_nor_share(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "node.db")
    commit(storage, 0, put=share(1))
    with pytest.raises(sqlite3.IntegrityError):
        commit(storage, 1, put=share(1, b"other"))  # same slot again
    assert storage.entries(0, 10) == [b"entry 0"]
    assert storage.share("team", "db", 1) == share(1)
    assert storage.latest_checkpoint() == (1, "checkpoint 0")


def test_erase_removes_only_the_named_versions(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "node.db")
    for index, version in enumerate((1, 2, 3)):
        commit(storage, index, put=share(version))
    commit(storage, 3, erase=("team", "db", [1, 3]))
    assert [held.version for held in storage.shares("team", "db")] == [2]
    assert len(storage.entries(0, 100)) == 4


def test_witness_state_and_cosignatures_round_trip(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "node.db")
    state = Witnessed("kuorum.io/node/b", "key", 7, b"r" * 32)
    storage.set_witnessed(state)
    assert storage.witnessed("kuorum.io/node/b") == state
    assert storage.witnessed("kuorum.io/node/c") is None
    storage.add_cosignature(7, "b", "— b AAAA")
    storage.add_cosignature(7, "b", "— b BBBB")
    assert storage.cosignatures(7) == ["— b BBBB"]


def test_repr_shows_the_slot_not_the_material() -> None:
    assert "sealed" not in repr(share(1)) and "team/db version 1" in repr(share(1))


def test_checkpoint_and_cosignature_rows_stay_few_however_many_writes(tmp_path: Path) -> None:
    """Only the newest checkpoint is served or checked: one row, not one per write."""
    storage = Storage(tmp_path / "node.db")
    for index in range(50):
        commit(storage, index)
        storage.add_cosignature(index + 1, "b", f"— b {index}")
    assert storage.latest_checkpoint() == (50, "checkpoint 49")
    db = sqlite3.connect(tmp_path / "node.db")
    assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM cosignatures").fetchone() == (1,)
    assert storage.cosignatures(50) == ["— b 49"]


def test_a_database_from_before_rules_gains_the_column_and_keeps_its_shares(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE shares (namespace TEXT NOT NULL, name TEXT NOT NULL, version INTEGER "
        "NOT NULL, share_index INTEGER NOT NULL, threshold INTEGER NOT NULL, sealed BLOB NOT "
        "NULL, commitments BLOB NOT NULL, payload BLOB NOT NULL, digest BLOB NOT NULL, "
        "receipt BLOB NOT NULL, signature BLOB NOT NULL, PRIMARY KEY (namespace, name, version));"
    )
    old.execute(
        "INSERT INTO shares VALUES "
        "('team', 'db', 1, 2, 3, x'01', x'02', x'03', x'04', x'05', x'06')"
    )
    old.commit()
    old.close()
    storage = Storage(path)
    held = storage.share("team", "db", 1)
    assert held is not None and held.sealed == b"\x01" and held.rule == b""
    commit(storage, 0, put=dataclasses.replace(share(2), rule=bytes(32)))
    again = storage.share("team", "db", 2)
    assert again is not None and again.rule == bytes(32)
    storage.close()
    Storage(path).close()  # reopening a migrated database changes nothing
