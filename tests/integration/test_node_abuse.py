"""A hostile flood does not grow a node's ledger without bound, and the operator is still
served meanwhile: 10,000 requests with no token, another node's token and forged
add-checkpoint bodies, against a real node process."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from nodes import (
    ShareNodes,
    ledger_entries,
    public_keys,
    release,
    share_nodes_fixture,  # noqa: F401 - the share_nodes fixture
    store_body,
)

from kuorum import sharing
from kuorum.devenv.controlplane import ControlPlane
from kuorum.devenv.processes import wait_until
from kuorum.kube.pinned import pinned_context
from kuorum.ledger import Entry, EntryKind
from kuorum.ledger.witness import add_checkpoint_request
from kuorum.node.limits import BURST, RATE

pytestmark = pytest.mark.integration

HOSTILE = 10_000
AT_ONCE = 32


def _forged_checkpoint(note: bytes) -> bytes:
    """The peer's real checkpoint with its signature altered: a forgery to the witness."""
    text, _, signatures = note.partition(b"\n\n")
    first, _, rest = signatures.partition(b"\n")
    name, _, signature = first.rpartition(b" ")
    flipped = signature[:-4] + (b"AAAA" if signature[-4:] != b"AAAA" else b"BBBB")
    return add_checkpoint_request(0, [], text + b"\n\n" + name + b" " + flipped + b"\n" + rest)


async def _flood(
    endpoint: str, certificate: str, requests: list[tuple[str, str, dict[str, str], bytes]]
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = iter(requests)
    context = pinned_context(certificate)
    connector = aiohttp.TCPConnector(limit=AT_ONCE, ssl=context)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for method, path, headers, body in queue:
                async with session.request(
                    method, endpoint + path, headers=headers, data=body
                ) as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(AT_ONCE)))
    return statuses


def test_ten_thousand_hostile_requests_add_a_bounded_number_of_entries(
    control_plane: ControlPlane, share_nodes: ShareNodes
) -> None:
    victim, peer = share_nodes.start(2)
    keys = public_keys(control_plane, victim)
    wait_until(  # the victim knows the peer's log key: a forgery is refused as one (403)
        lambda: any(
            w["origin"].endswith(peer.name)
            for w in victim.request("GET", "/v1/ledger/witnessed").json()
        ),
        timeout=60,
        what=f"{victim.name} pinning {peer.name}'s log key",
    )
    forged = _forged_checkpoint(peer.request("GET", "/v1/ledger/checkpoint").body)
    stolen = peer.operator_token  # a real token, for the other node's audience
    kinds = [
        ("PUT", "/v1/shares/team/db/1", {}, b"{}"),
        ("GET", "/v1/shares/team/db", {"Authorization": f"Bearer {stolen}"}, b""),
        ("DELETE", "/v1/shares/team/db", {"Authorization": "Bearer junk.junk.junk"}, b""),
        ("POST", "/v1/ledger/add-checkpoint", {}, forged),
    ]
    requests = [kinds[i % len(kinds)] for i in range(HOSTILE)]
    before = len(ledger_entries(victim))
    started = time.monotonic()

    async def flood_while_the_operator_works() -> tuple[dict[int, int], list[int]]:
        flood = asyncio.create_task(_flood(victim.endpoint, victim.tls_certificate(), requests))
        served = []
        for version in range(1, 6):  # the operator's calls go through during the flood
            dealt = sharing.split(sharing.new_data_key(), 2, 3)
            body = store_body(victim, keys, dealt, namespace="team", name="db", version=version)
            path = f"/v1/shares/team/db/{version}"
            answer = await asyncio.to_thread(
                victim.request, "PUT", path, token=victim.operator_token, body=body
            )
            served.append(answer.status)
        return await flood, served

    statuses, served = asyncio.run(flood_while_the_operator_works())
    assert served == [200] * 5
    assert sum(statuses.values()) == HOSTILE
    assert set(statuses) <= {401, 403}, statuses
    response, share = release(
        victim, keys, victim.operator_token, namespace="team", name="db", version=1
    )
    assert response.status == 200 and share is not None

    time.sleep(1 / RATE)  # the budget refills: the next refusal carries the flood's count
    assert victim.request("PUT", "/v1/shares/team/db/9", body={}).status == 401
    added = [Entry.from_bytes(e) for e in ledger_entries(victim)[before:]]
    refusals = [e for e in added if e.kind in (EntryKind.SHARE_REFUSED, EntryKind.WITNESS_REFUSED)]
    per_bucket = BURST + RATE * (time.monotonic() - started) + 1
    assert len(refusals) <= per_bucket, (len(refusals), per_bucket)
    assert any("held back before this one" in e.reason for e in refusals), "floods are counted"
    # an add-checkpoint without a peer's pod token is refused before its body is read
    assert {e.kind for e in refusals} == {EntryKind.SHARE_REFUSED}
