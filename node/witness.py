"""Nodes witness each other's ledgers (C2SP tlog-witness), both sides.

Server: ``POST /v1/ledger/add-checkpoint`` cosigns a peer's checkpoint when it extends,
by a valid consistency proof, the last one this node cosigned for that log. Check,
persist and answer happen on the writer thread as one step, so two requests can never
roll the witnessed size back.

Client: every interval the node lists ShareNodes, pins each peer's signing key on
first sight (a changed key is refused and logged loudly, never re-trusted silently),
sends its newest checkpoint to every peer that has not cosigned it yet, and keeps the
cosignatures to serve with that checkpoint.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ed25519
from kubernetes import client

from kuorum import names
from kuorum.kube.errors import brief
from kuorum.kube.pinned import pinned_context
from kuorum.kube.sharenodes import list_share_nodes
from kuorum.ledger import witness as protocol
from kuorum.ledger.checkpoint import Checkpoint
from kuorum.ledger.cosignature import CosignatureVerifier, Cosigner
from kuorum.ledger.errors import LedgerError
from kuorum.ledger.merkle import EMPTY_ROOT
from kuorum.ledger.note import Ed25519NoteVerifier, NoteVerifier, SignedNote
from kuorum.models import InvalidSpec, ShareNode
from kuorum.node.custody import Custody
from kuorum.node.metrics import NodeMetrics
from kuorum.node.storage import Storage, Witnessed

log = logging.getLogger("kuorum.node.witness")

REQUEST_TIMEOUT = 10.0
EVIDENCE_STATUSES = (403, 422)
"""Refusals that may be evidence of a forked or forged log: they go on the ledger."""


async def _get(session: aiohttp.ClientSession, url: str, ssl: Any) -> bytes:
    async with session.get(url, ssl=ssl) as response:
        response.raise_for_status()
        return await response.read()


def _log_signed(note: bytes) -> bytes:
    """A served checkpoint with only its first signature (the log's own): the
    cosignatures the node collected are not the witness's to re-present."""
    text, _, signatures = note.partition(b"\n\n")
    return text + b"\n\n" + signatures.split(b"\n", 1)[0] + b"\n"


def _public_key(encoded: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))


@dataclass(frozen=True)
class Peer:
    """A peer as its ShareNode describes it."""

    name: str
    endpoint: str
    signing_key: str
    """Base64 raw Ed25519 public key (ShareNode ``spec.signingKey``)."""
    certificate: str

    @property
    def origin(self) -> str:
        return names.ledger_origin(self.name)


def peers_from(items: list[dict[str, Any]], own_name: str) -> list[Peer]:
    """Peers with valid registrations, excluding this node."""
    peers = []
    for item in items:
        try:
            node = ShareNode.from_object(item)
        except InvalidSpec as error:
            log.debug("skipping an unusable ShareNode for witnessing: %s", error)
            continue
        if node.name != own_name:
            peers.append(
                Peer(
                    node.name,
                    node.spec.endpoint.rstrip("/"),
                    base64.b64encode(node.spec.signing_key).decode(),
                    node.spec.tls_certificate,
                )
            )
    return peers


def pin(storage: Storage, peer: Peer) -> bool:
    """Pin ``peer``'s key on first sight; False if a different key is already pinned."""
    pinned = storage.witnessed(peer.origin)
    if pinned is None:
        storage.set_witnessed(Witnessed(peer.origin, peer.signing_key, 0, EMPTY_ROOT))
        log.info("pinned the ledger key of peer %s", peer.name)
        return True
    return pinned.verifier_key == peer.signing_key


class WitnessServer:
    """Answers add-checkpoint for peers whose keys this node pinned."""

    def __init__(self, custody: Custody, cosigner: Cosigner, node_name: str) -> None:
        self._custody = custody
        self._cosigner = cosigner
        self._node = node_name
        self._forks: set[tuple[str | None, str]] = set()
        """Forks already put on the ledger by this process."""

    async def add_checkpoint(self, body: bytes, *, origin: str) -> tuple[int, bytes, str]:
        """Check, persist and answer one request about the log ``origin`` (the caller's
        own; any other is an unknown log): ``(status, body, content type)``."""
        answer = await self._custody.run(self._add_locked, body, int(time.time()), origin)
        if answer.status != 200:
            # 404 (a peer not pinned yet) and 409 (a stale size) are routine at start
            level = logging.WARNING if answer.status in EVIDENCE_STATUSES else logging.INFO
            log.log(
                level,
                "refused a checkpoint of %s: HTTP %d, %s",
                answer.origin or "an unknown log",
                answer.status,
                answer.reason,
            )
        if answer.fork:
            if (answer.origin, answer.reason) not in self._forks:  # once, however often replayed
                self._forks.add((answer.origin, answer.reason))
                await self._custody.record_fork(answer.origin or "unknown", answer.reason)
        elif answer.status in EVIDENCE_STATUSES:
            await self._custody.refuse_checkpoint(answer.origin, answer.reason)
        return answer.status, answer.body, answer.content_type

    def _add_locked(
        self, storage: Storage, body: bytes, now: int, origin: str
    ) -> protocol.WitnessResponse:
        logs: dict[str, NoteVerifier] = {}
        states: dict[str, protocol.WitnessState] = {}
        pins = {p.origin: p for p in storage.all_witnessed() if p.origin == origin}
        for pinned in pins.values():
            logs[pinned.origin] = Ed25519NoteVerifier(
                pinned.origin, _public_key(pinned.verifier_key)
            )
            if pinned.size > 0:
                states[pinned.origin] = protocol.WitnessState(pinned.size, pinned.root)
        answer = protocol.Witness(self._cosigner, logs).add_checkpoint(body, states, now)
        if answer.status == 200 and answer.new_state is not None and answer.origin:
            signed = body.split(b"\n\n", 1)[1] + answer.body
            storage.set_witnessed(
                Witnessed(
                    answer.origin,
                    pins[answer.origin].verifier_key,
                    answer.new_state.size,
                    answer.new_state.root_hash,
                    signed.decode(),
                )
            )
        return answer


class WitnessClient:
    """Collects cosignatures for this node's checkpoints from every peer."""

    def __init__(
        self,
        api: client.ApiClient,
        custody: Custody,
        node_name: str,
        metrics: NodeMetrics,
        witness: WitnessServer,
        peer_tokens: Path | None = None,
    ) -> None:
        self._api = api
        self._custody = custody
        self._witness = witness
        self._peer_tokens = peer_tokens
        self._node = node_name
        self._metrics = metrics
        self._cosigned: dict[str, int] = {}
        """Per peer: the size it last cosigned (0 until it tells us)."""
        self._warned: set[str] = set()

    async def run(self, interval: float) -> None:
        """One round every ``interval`` seconds, forever; a failed round is logged."""
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        ) as session:
            while True:
                try:
                    await self.round(session)
                except Exception as error:  # a failed round must not stop witnessing
                    log.warning("witness round failed: %s", brief(error))
                await asyncio.sleep(interval)

    async def round(self, session: aiohttp.ClientSession) -> None:
        """Refresh peers and pins, then ask every peer that is behind to cosign."""
        items = await asyncio.to_thread(list_share_nodes, self._api)
        peers = []
        for peer in peers_from(items, self._node):
            if await self._custody.run(pin, peer):
                peers.append(peer)
                self._warned.discard(peer.name)
            elif peer.name not in self._warned:
                self._warned.add(peer.name)
                log.error(
                    "ShareNode %s now shows a different signingKey than the one pinned "
                    "for its ledger: refusing to witness it; if the key change is "
                    "legitimate an administrator must re-trust the node",
                    peer.name,
                )
        # one read per round; a peer not pinned yet is pinned by its own push first
        cosigned = {s.origin: s.size for s in await self._custody.run(Storage.all_witnessed)}
        await asyncio.gather(
            *(
                self._pull(session, peer, cosigned[peer.origin])
                for peer in peers
                if peer.origin in cosigned
            )
        )
        latest = await self._custody.run(Storage.latest_checkpoint)
        if latest is None:
            return
        size, note = latest
        cosigners = await self._custody.run(Storage.cosigners, size)
        await asyncio.gather(
            *(
                self._submit(session, peer, size, note.encode())
                for peer in peers
                if peer.name not in cosigners
            )
        )

    def _credentials(self, peer: Peer) -> dict[str, str]:
        """Our pod's token for ``peer``'s audience, read fresh (the kubelet rotates it)."""
        if self._peer_tokens is None:
            return {}
        try:
            token = (self._peer_tokens / peer.name).read_text().strip()
        except OSError:
            return {}
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _pull(self, session: aiohttp.ClientSession, peer: Peer, last: int) -> None:
        """Fetch the peer's checkpoint, and a proof from what we last cosigned for it, and
        judge it as if the peer had asked: a node cannot avoid its witnesses by not
        asking, and a fork it shows is caught (and ledgered) by the same checks."""
        ssl = pinned_context(peer.certificate)
        try:
            note = _log_signed(await _get(session, f"{peer.endpoint}/v1/ledger/checkpoint", ssl))
            size = Checkpoint.parse(SignedNote.parse(note).text.encode()).size
            proof: list[bytes] = []
            if 0 < last < size:
                path = f"/v1/ledger/proof/consistency?old={last}&new={size}"
                answer = json.loads(await _get(session, peer.endpoint + path, ssl))
                proof = [base64.b64decode(h) for h in answer["proof"]]
        except (aiohttp.ClientError, TimeoutError, LedgerError, ValueError, KeyError) as error:
            log.info("could not pull the checkpoint of %s: %s", peer.name, type(error).__name__)
            return
        if size < last:
            return  # a stale answer (a restart): nothing to judge
        body = protocol.add_checkpoint_request(last, proof, note)
        status, _, _ = await self._witness.add_checkpoint(body, origin=peer.origin)
        self._metrics.witness_rounds.labels("pulled" if status == 200 else "pull-refused").inc()

    async def _submit(
        self, session: aiohttp.ClientSession, peer: Peer, size: int, note: bytes
    ) -> None:
        for _ in range(3):  # a 409 tells us the peer's size (it may also pull): retry with it
            old = self._cosigned.get(peer.name, 0)
            proof = await self._custody.consistency_proof(old, size) if 0 < old < size else []
            body = protocol.add_checkpoint_request(old, proof, note)
            try:
                async with session.post(
                    f"{peer.endpoint}/v1/ledger/add-checkpoint",
                    data=body,
                    headers=self._credentials(peer),
                    ssl=pinned_context(peer.certificate),
                ) as response:
                    status, answer = response.status, await response.read()
            except (aiohttp.ClientError, TimeoutError) as error:
                self._metrics.witness_rounds.labels("unreachable").inc()
                log.info("peer %s unreachable for witnessing: %s", peer.name, type(error).__name__)
                return
            if status == 409:
                self._cosigned[peer.name] = protocol.parse_size_response(answer)
                continue
            if status != 200:
                self._metrics.witness_rounds.labels("refused").inc()
                # 404: the peer has not pinned our key yet (routine right after a start)
                level = logging.INFO if status == 404 else logging.WARNING
                log.log(
                    level,
                    "peer %s refused our checkpoint of size %d: HTTP %d %s",
                    peer.name,
                    size,
                    status,
                    answer[:200].decode(errors="replace").strip(),
                )
                return
            verifier = CosignatureVerifier(peer.origin, _public_key(peer.signing_key))
            try:
                signature = protocol.parse_cosignature_response(answer, note, verifier)
            except LedgerError as error:
                self._metrics.witness_rounds.labels("bad-cosignature").inc()
                log.error("peer %s answered with an invalid cosignature: %s", peer.name, error)
                return
            await self._custody.run(Storage.add_cosignature, size, peer.name, signature.line())
            self._cosigned[peer.name] = size
            self._metrics.witness_rounds.labels("cosigned").inc()
            return
