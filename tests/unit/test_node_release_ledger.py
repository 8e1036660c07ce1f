"""A release is logged as released only when the share really leaves: a recipient key the
share cannot be sealed to is a logged refusal and a 400, never a 500 after the fact."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import sharing
from kuorum.envelope import (
    PUBLIC_KEY_BYTES,
    EncryptionPrivateKey,
    EncryptionPublicKey,
    NodeKeys,
    SealedShare,
    ShareContext,
    open_share,
    seal_share,
)
from kuorum.ledger import Entry, EntryKind
from kuorum.node.custody import Custody
from kuorum.node.errors import BadRequest, NotFound
from kuorum.node.log import NodeLog
from kuorum.node.requests import Slot
from kuorum.node.storage import Storage
from kuorum.nodeapi import ReleaseRequest, StoreRequest

NODE = "node-a"
OPERATOR = "system:serviceaccount:kuorum-system:kuorum-operator"
SLOT = Slot("team", "db", 1)
Test = Callable[[Custody, NodeKeys, sharing.Dealing], Awaitable[None]]


def run(tmp_path: Path, test: Test) -> None:
    """Run ``test`` on a fresh node's custody that holds share 1 of a 2-of-3 dealing."""

    async def main() -> None:
        keys = NodeKeys.generate(kem="X25519")
        storage = Storage(tmp_path / "node.db")
        custody = Custody(storage, NodeLog(f"kuorum.io/node/{NODE}", keys.signing, []), keys, NODE)
        try:
            await custody.record_start()
            dealt = sharing.split(sharing.new_data_key(), 2, 3)
            sealed = seal_share(
                dealt.shares[0],
                recipient=keys.public().encryption,
                context=ShareContext("team", "db", 1, 1, NODE, "store"),
                sender=ed25519.Ed25519PrivateKey.generate(),
            )
            body = StoreRequest(1, 2, sealed.to_bytes(), dealt.commitments.to_bytes(), b"payload")
            await custody.store(SLOT, body, actor=OPERATOR)
            await test(custody, keys, dealt)
        finally:
            custody.close()

    asyncio.run(main())


async def ledger(custody: Custody) -> list[Entry]:
    return [Entry.from_bytes(e) for e in await custody.entries(0, custody.ledger_size)]


@pytest.mark.parametrize("kem", ["X25519", "MLKEM768_X25519"])
def test_a_key_the_share_cannot_be_sealed_to_is_refused_not_released(
    tmp_path: Path, kem: str
) -> None:
    """The all-zero X25519 point loads as a key, but HPKE finds no shared secret with it."""
    zero = bytes(PUBLIC_KEY_BYTES[kem])
    EncryptionPublicKey.from_bytes(zero, kem=kem)  # passes the first check

    async def test(custody: Custody, keys: NodeKeys, dealt: sharing.Dealing) -> None:
        before = custody.ledger_size
        with pytest.raises(BadRequest) as error:
            await custody.release(SLOT, ReleaseRequest(zero, kem, "materialize"), actor=OPERATOR)
        assert error.value.status == 400
        message = str(error.value)
        assert "'recipientKey'" in message and "team/db version 1" in message
        assert base64.b64encode(zero).decode() not in message
        added = (await ledger(custody))[before:]
        assert [(e.kind, e.actor, e.version, e.index) for e in added] == [
            (EntryKind.SHARE_REFUSED, OPERATOR, 1, None)
        ]
        assert added[0].reason.startswith("release refused: field 'recipientKey'")
        assert EntryKind.SHARE_RELEASED not in {e.kind for e in await ledger(custody)}

    run(tmp_path, test)


def test_a_good_release_is_logged_before_it_is_answered(tmp_path: Path) -> None:
    async def test(custody: Custody, keys: NodeKeys, dealt: sharing.Dealing) -> None:
        ephemeral = EncryptionPrivateKey.generate(kem="X25519")
        request = ReleaseRequest(ephemeral.public_key().to_bytes(), "X25519", "materialize")
        released = await custody.release(SLOT, request, actor=OPERATOR)
        share = open_share(
            SealedShare.from_bytes(released.sealed_share),
            recipient=ephemeral,
            context=ShareContext("team", "db", 1, 1, OPERATOR, "release"),
            sender=keys.public().signing,
        )
        assert share == dealt.shares[0]
        last = (await ledger(custody))[-1]
        assert (last.kind, last.actor, last.version, last.index) == (
            EntryKind.SHARE_RELEASED,
            OPERATOR,
            1,
            1,
        )
        assert last.reason.startswith("materialize; sealed to X25519 key ")

    run(tmp_path, test)


def test_a_share_destroyed_while_it_is_resealed_is_not_released(tmp_path: Path) -> None:
    """Re-sealing runs off the writer thread, so a destroy can come in between."""

    async def test(custody: Custody, keys: NodeKeys, dealt: sharing.Dealing) -> None:
        reseal = custody._reseal

        def destroy_then_reseal(*args: object) -> bytes:
            asyncio.run_coroutine_threadsafe(
                custody.destroy("team", "db", 1, actor=OPERATOR), loop
            ).result()
            return reseal(*args)  # type: ignore[arg-type]

        loop = asyncio.get_running_loop()
        custody._reseal = destroy_then_reseal  # type: ignore[method-assign]
        ephemeral = EncryptionPrivateKey.generate(kem="X25519").public_key()
        with pytest.raises(NotFound):
            await custody.release(
                SLOT, ReleaseRequest(ephemeral.to_bytes(), "X25519", "materialize"), actor=OPERATOR
            )
        kinds = [e.kind for e in await ledger(custody)]
        assert kinds[-1] == EntryKind.SHARE_DESTROYED
        assert EntryKind.SHARE_RELEASED not in kinds

    run(tmp_path, test)
