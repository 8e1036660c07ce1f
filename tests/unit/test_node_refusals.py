"""Refusals cannot fill a ledger: each identity has a budget of its own (any pod may
project a token for a node's audience and get itself refused), and so do anonymous
callers; what is held back is counted in the next entry written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kuorum.envelope import NodeKeys
from kuorum.ledger import Entry, EntryKind
from kuorum.node.custody import Custody
from kuorum.node.limits import BURST
from kuorum.node.log import NodeLog
from kuorum.node.storage import Storage

INTRUDER = "system:serviceaccount:tenant:intruder"


def test_an_identity_flooding_refusals_is_budgeted_and_others_still_written(
    tmp_path: Path,
) -> None:
    async def main() -> list[Entry]:
        keys = NodeKeys.generate(kem="X25519")
        custody = Custody(
            Storage(tmp_path / "node.db"), NodeLog("kuorum.io/node/a", keys.signing, []), keys, "a"
        )
        try:
            await custody.record_start()
            for _ in range(500):
                await custody.refuse(action="release", actor=INTRUDER, reason="not the operator")
            await custody.refuse(action="store", actor="someone-else", reason="not the operator")
            return [Entry.from_bytes(e) for e in await custody.entries(0, custody.ledger_size)]
        finally:
            custody.close()

    entries = [e for e in asyncio.run(main()) if e.kind == EntryKind.SHARE_REFUSED]
    by_intruder = [e for e in entries if e.actor == INTRUDER]
    assert len(by_intruder) <= BURST + 1
    assert [e.actor for e in entries][-1] == "someone-else", "one flood does not silence others"
