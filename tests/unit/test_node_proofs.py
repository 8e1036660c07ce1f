"""Merkle proofs are public and cost O(size): computed off the event loop, a few at a
time, and remembered, so no caller holds the loop or makes the node repeat the work."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from kuorum.envelope import NodeKeys
from kuorum.ledger import merkle
from kuorum.node.custody import PROOFS_AT_ONCE, Custody
from kuorum.node.log import NodeLog
from kuorum.node.storage import Storage


def test_proofs_run_in_threads_bounded_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        keys = NodeKeys.generate(kem="X25519")
        custody = Custody(
            Storage(tmp_path / "node.db"), NodeLog("kuorum.io/node/a", keys.signing, []), keys, "a"
        )
        try:
            for _ in range(8):
                await custody.record_start()
            size = custody.ledger_size
            loop_thread = threading.get_ident()
            threads: set[int] = set()
            active, peak = 0, 0
            real = NodeLog.consistency_proof

            def watched(log: NodeLog, old: int, new: int) -> list[bytes]:
                nonlocal active, peak
                threads.add(threading.get_ident())
                active += 1
                peak = max(peak, active)
                try:
                    return real(log, old, new)
                finally:
                    active -= 1

            monkeypatch.setattr(NodeLog, "consistency_proof", watched)
            proofs = await asyncio.gather(
                *(custody.consistency_proof(old, size) for old in range(1, size))
            )
            again = await custody.consistency_proof(1, size)
            assert loop_thread not in threads
            assert 1 <= peak <= PROOFS_AT_ONCE
            assert again is proofs[0], "a proof asked for again is not recomputed"
            entries = await custody.entries(0, size)
            hashes = [merkle.leaf_hash(e) for e in entries]
            assert proofs[2] == merkle.consistency_proof(3, size, hashes)
        finally:
            custody.close()

    asyncio.run(main())
