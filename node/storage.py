"""Durable custody on disk: one SQLite database per node (WAL, synchronous=FULL).

Every change is one transaction that holds both the state change and its ledger
entry plus the checkpoint that signs it, so a crash (even ``kill -9``) leaves either
all of it or none of it, and nothing is acknowledged before it is committed.

The connection is used from a single thread (the node's writer thread); callers in
the event loop go through :class:`kuorum.node.custody.Custody`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    share_index INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    commitments BLOB NOT NULL,
    payload BLOB NOT NULL,
    digest BLOB NOT NULL,
    receipt BLOB NOT NULL,
    signature BLOB NOT NULL,
    rule BLOB NOT NULL DEFAULT x'',
    access_rule TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (namespace, name, version)
);
CREATE TABLE IF NOT EXISTS entries (
    entry_index INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE IF NOT EXISTS witnessed (
    origin TEXT PRIMARY KEY,
    verifier_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredShare:
    """One held share slot. ``sealed`` stays HPKE-sealed to this node at rest."""

    namespace: str
    name: str
    version: int
    index: int
    threshold: int
    sealed: bytes
    commitments: bytes
    payload: bytes
    digest: bytes
    """SHA-256 over sealed share, commitments and payload: same digest, same request."""
    receipt: bytes
    signature: bytes
    rule: bytes = b""
    """The access rule digest the share was sealed with (empty: none): part of the context
    it opens under, so it is kept with it."""
    access_rule: str = ""
    """That rule itself, as JSON (``AccessRule.to_json``; empty: none sent): what a pod
    asking for the share is checked against."""

    def __repr__(self) -> str:
        return (
            f"StoredShare({self.namespace}/{self.name} version {self.version} index {self.index})"
        )


@dataclass(frozen=True)
class Append:
    """One ledger entry: its position, canonical bytes and RFC 6962 leaf hash."""

    index: int
    body: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class Witnessed:
    """The newest checkpoint this node cosigned for one peer log, and the pinned key."""

    origin: str
    verifier_key: str
    """The peer's Ed25519 log key (base64, as in its ShareNode), pinned on first sight."""
    size: int
    root: bytes
    note: str = ""
    """That checkpoint as cosigned: the peer's signed note plus our cosignature line."""


class Storage:
    """The node's database. Not thread-safe: use it from one thread only."""

    def __init__(self, path: Path) -> None:
        existed = path.exists()
        if not existed:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Bring a database made by an older node up to :data:`SCHEMA` (columns added since
        have defaults that mean what the older node did)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(shares)")}
        if "rule" not in columns:
            self._db.execute("ALTER TABLE shares ADD COLUMN rule BLOB NOT NULL DEFAULT x''")
        if "access_rule" not in columns:
            self._db.execute("ALTER TABLE shares ADD COLUMN access_rule TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self._db.close()

    # -- atomic changes ---------------------------------------------------------------

    def commit(
        self,
        appends: Sequence[Append],
        *,
        size: int,
        checkpoint: str,
        put: StoredShare | None = None,
        erase: tuple[str, str, Iterable[int]] | None = None,
    ) -> None:
        """Write entries, their checkpoint and the state change in ONE durable transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO entries (entry_index, body, leaf_hash) VALUES (?, ?, ?)",
                [(append.index, append.body, append.leaf_hash) for append in appends],
            )
            self._db.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?, ?)", (size, checkpoint)
            )
            # only the newest is ever served or checked: one row, not one per write forever
            self._db.execute("DELETE FROM checkpoints WHERE size < ?", (size,))
            if put is not None:
                self._db.execute(
                    "INSERT INTO shares VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        put.namespace,
                        put.name,
                        put.version,
                        put.index,
                        put.threshold,
                        put.sealed,
                        put.commitments,
                        put.payload,
                        put.digest,
                        put.receipt,
                        put.signature,
                        put.rule,
                        put.access_rule,
                    ),
                )
            if erase is not None:
                namespace, name, versions = erase
                self._db.executemany(
                    "DELETE FROM shares WHERE namespace = ? AND name = ? AND version = ?",
                    [(namespace, name, version) for version in versions],
                )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- shares -----------------------------------------------------------------------

    def share(self, namespace: str, name: str, version: int) -> StoredShare | None:
        """The share held for one slot, if any."""
        row = self._db.execute(
            "SELECT * FROM shares WHERE namespace = ? AND name = ? AND version = ?",
            (namespace, name, version),
        ).fetchone()
        return StoredShare(*row) if row else None

    def shares(self, namespace: str, name: str) -> list[StoredShare]:
        """Every version held for one secret, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM shares WHERE namespace = ? AND name = ? ORDER BY version",
            (namespace, name),
        ).fetchall()
        return [StoredShare(*row) for row in rows]

    def share_count(self) -> int:
        """How many share slots this node holds."""
        count: int = self._db.execute("SELECT COUNT(*) FROM shares").fetchone()[0]
        return count

    # -- ledger -----------------------------------------------------------------------

    def leaf_hashes(self) -> list[bytes]:
        """All leaf hashes in order (the node rebuilds its tree from them at start)."""
        rows = self._db.execute("SELECT leaf_hash FROM entries ORDER BY entry_index")
        return [bytes(row[0]) for row in rows]

    def entries(self, start: int, end: int) -> list[bytes]:
        """Entry bodies ``[start, end)``."""
        rows = self._db.execute(
            "SELECT body FROM entries WHERE entry_index >= ? AND entry_index < ? "
            "ORDER BY entry_index",
            (start, end),
        )
        return [bytes(row[0]) for row in rows]

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """``(size, signed note)`` of the newest checkpoint."""
        row = self._db.execute(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        """Keep a peer's cosignature line for our checkpoint of ``size`` (newest wins); a
        peer's lines for older sizes go (its own record of what it cosigned stays)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO cosignatures (size, witness, line) VALUES (?, ?, ?)",
                (size, witness, line),
            )
            self._db.execute(
                "DELETE FROM cosignatures WHERE witness = ? AND size < ?", (witness, size)
            )

    def cosigners(self, size: int) -> set[str]:
        """The peers whose cosignature we hold for our checkpoint of ``size``."""
        rows = self._db.execute("SELECT witness FROM cosignatures WHERE size = ?", (size,))
        return {str(row[0]) for row in rows}

    def cosignatures(self, size: int) -> list[str]:
        """Cosignature lines collected for our checkpoint of ``size``."""
        rows = self._db.execute(
            "SELECT line FROM cosignatures WHERE size = ? ORDER BY witness", (size,)
        )
        return [str(row[0]) for row in rows]

    # -- witness state ----------------------------------------------------------------

    def witnessed(self, origin: str) -> Witnessed | None:
        """What this node last cosigned for the log ``origin``."""
        row = self._db.execute("SELECT * FROM witnessed WHERE origin = ?", (origin,)).fetchone()
        return _witnessed(row) if row else None

    def all_witnessed(self) -> list[Witnessed]:
        """Every pinned peer log and what this node last cosigned for it."""
        rows = self._db.execute("SELECT * FROM witnessed ORDER BY origin")
        return [_witnessed(row) for row in rows]

    def set_witnessed(self, state: Witnessed) -> None:
        """Record a cosigned checkpoint; must be durable before the cosignature is sent."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO witnessed VALUES (?, ?, ?, ?, ?)",
                (state.origin, state.verifier_key, state.size, state.root, state.note),
            )


def _witnessed(row: tuple[object, ...]) -> Witnessed:
    origin, key, size, root, note = row
    return Witnessed(str(origin), str(key), int(size), bytes(root), str(note))  # type: ignore[call-overload, arg-type]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on any error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
