"""Start-up self-check: a node says loudly when its own database contradicts its log."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from kuorum.envelope import NodeKeys
from kuorum.node.custody import Custody
from kuorum.node.log import NodeLog
from kuorum.node.server import check_own_ledger
from kuorum.node.storage import Storage

ORIGIN = "kuorum.io/node/node-a"


def make_ledger(path: Path, keys: NodeKeys) -> None:
    storage = Storage(path)
    custody = Custody(storage, NodeLog(ORIGIN, keys.signing, []), keys, "node-a")
    asyncio.run(custody.record_start())
    custody.close()


def reopen(path: Path, keys: NodeKeys) -> tuple[Storage, NodeLog]:
    storage = Storage(path)
    return storage, NodeLog(ORIGIN, keys.signing, storage.leaf_hashes())


def test_an_untouched_ledger_passes_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = NodeKeys.generate(kem="X25519")
    make_ledger(tmp_path / "node.db", keys)
    storage, ledger = reopen(tmp_path / "node.db", keys)
    with caplog.at_level(logging.ERROR):
        check_own_ledger("node-a", storage, ledger)
    assert caplog.records == []


def test_an_edited_entry_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    keys = NodeKeys.generate(kem="X25519")
    make_ledger(tmp_path / "node.db", keys)
    with sqlite3.connect(tmp_path / "node.db") as db:
        (body,) = db.execute("SELECT body FROM entries WHERE entry_index = 1").fetchone()
        db.execute(
            "UPDATE entries SET body = ? WHERE entry_index = 1",
            (bytes(body).replace(b"serving", b"started"),),
        )
    storage, ledger = reopen(tmp_path / "node.db", keys)
    with caplog.at_level(logging.ERROR):
        check_own_ledger("node-a", storage, ledger)
    assert caplog.records
    assert all("own ledger does not hold up" in record.getMessage() for record in caplog.records)
