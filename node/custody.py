"""Custody of shares: store, list, release and destroy, each written to the ledger.

All database work runs on ONE writer thread, in order, so the ledger and the shares
change together and never race; the event loop only awaits it. Crypto that needs no
database (opening and verifying a share, re-sealing it) runs in other threads.

Order of effects, the promises of the API:

- store: verify, then one transaction (entry + checkpoint + share), then the receipt;
- release: the share is re-sealed, then one transaction (entry + checkpoint), then it is
  sent; a recipient key it cannot be sealed to is a logged refusal, not a release;
- destroy: one transaction (entry + checkpoint + erase), then the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ed25519

from kuorum import names, policy, sharing
from kuorum.accessrule import AccessRule
from kuorum.envelope import (
    EncryptionPublicKey,
    EnvelopeError,
    InvalidKey,
    NodeKeys,
    Purpose,
    SealedShare,
    ShareContext,
    open_share,
    seal_share,
)
from kuorum.ledger.entries import FORK_EVIDENCE, MAX_REASON, Entry, EntryKind
from kuorum.models import Delivery
from kuorum.node.auth import PodIdentity
from kuorum.node.errors import BadRequest, Conflict, Forbidden, InvalidShare, NotFound
from kuorum.node.limits import RefusalBudget
from kuorum.node.log import NodeLog, entry
from kuorum.node.requests import Slot
from kuorum.node.storage import Storage, StoredShare
from kuorum.nodeapi import HeldVersion, Released, ReleaseRequest, SignedReceipt, StoreRequest
from kuorum.receipts import Receipt

T = TypeVar("T")

ANONYMOUS = "anonymous"
"""Actor of a refusal whose caller could not be identified."""

ENTRIES_PAGE = 1000
"""Most entries one ``GET /v1/ledger/entries`` returns."""


def request_digest(body: StoreRequest) -> bytes:
    """What makes two store requests "the same": every field, length-prefixed (the rule
    only when set, so the digests of shares stored before rules existed stay valid)."""
    digest = hashlib.sha256(f"{body.index}:{body.threshold}:".encode())
    rule = [body.rule] if body.rule else []
    for part in (body.sealed_share, body.commitments, body.payload, *rule):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


class Custody:
    """The node's shares and ledger behind one writer thread."""

    def __init__(
        self,
        storage: Storage,
        log: NodeLog,
        keys: NodeKeys,
        node_name: str,
        *,
        anonymous_refusals: RefusalBudget | None = None,
        unsafe_corrupt_releases: bool = False,
    ) -> None:
        self._storage = storage
        self._log = log
        self._keys = keys
        self._node = node_name
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kuorum-writer")
        self.shares_held = storage.share_count()
        self._anonymous = anonymous_refusals or RefusalBudget()
        self._checkpoints = RefusalBudget()
        self._actors: dict[str, RefusalBudget] = {}
        self._proofs: OrderedDict[tuple[str, int, int], list[bytes]] = OrderedDict()
        self._proving = asyncio.Semaphore(PROOFS_AT_ONCE)
        self._unsafe_corrupt_releases = unsafe_corrupt_releases
        self._stored = asyncio.Condition()
        self._stores: dict[tuple[str, str], int] = {}
        """Stores so far per secret: a long-polling agent waits for its count to move."""
        self._closing = False

    @property
    def ledger_size(self) -> int:
        return self._log.size

    async def _write(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, partial(function, *args, **kwargs))

    def close(self) -> None:
        """Finish queued writes, then close the database."""
        self._writer.shutdown(wait=True)
        self._storage.close()

    # -- writer-thread helpers ---------------------------------------------------------

    def _append(
        self,
        *entries: Entry,
        put: StoredShare | None = None,
        erase: tuple[str, str, list[int]] | None = None,
    ) -> None:
        """Append entries, with ``put``/``erase`` in the same transaction."""
        batch = self._log.prepare(entries)
        self._storage.commit(
            batch.appends, size=batch.size, checkpoint=batch.checkpoint, put=put, erase=erase
        )
        self._log.accept(batch)

    async def record_start(self) -> None:
        """Log the node's key on a fresh ledger, then that this process started."""
        fingerprint = self._keys.public().fingerprint()
        entries = [
            entry(
                EntryKind.NODE_STARTED,
                self._node,
                reason=f"serving with key fingerprint {fingerprint}",
            )
        ]
        if self._log.size == 0:
            entries.insert(
                0,
                entry(
                    EntryKind.KEY_CREATED,
                    self._node,
                    reason=f"node keys with fingerprint {fingerprint}",
                ),
            )
        await self._write(self._append, *entries)

    # -- store -------------------------------------------------------------------------

    async def store(self, slot: Slot, body: StoreRequest, *, actor: str) -> SignedReceipt:
        """Verify and keep a share; the same request again returns the same receipt."""
        digest = request_digest(body)
        held = await self._write(self._storage.share, slot.namespace, slot.name, slot.version)
        if held is not None:
            return await self._existing(slot, held, digest, actor)
        try:
            sender = await asyncio.to_thread(self._verify_store, slot, body)
        except (BadRequest, InvalidShare) as error:
            await self.refuse(action="store", slot=slot, actor=actor, reason=str(error))
            raise
        answer = await self._write(self._store_locked, slot, body, digest, actor, sender)
        async with self._stored:
            key = (slot.namespace, slot.name)
            self._stores[key] = self._stores.get(key, 0) + 1
            self._stored.notify_all()
        return answer

    async def _existing(
        self, slot: Slot, held: StoredShare, digest: bytes, actor: str
    ) -> SignedReceipt:
        if held.digest == digest:
            return _receipt_answer(held.receipt, held.signature)
        reason = (
            f"{slot} already holds a different share (index {held.index}); a version "
            "is never re-dealt: destroy it or deal a new version"
        )
        await self.refuse(action="store", slot=slot, actor=actor, reason=reason)
        raise Conflict(reason)

    def _verify_store(self, slot: Slot, body: StoreRequest) -> bytes:
        """Open the sealed share with this node's key and check it against the commitments
        (and the access rule sent against the digest the share is bound to)."""
        where = f"the share for {slot} index {body.index}"
        if body.rule and (body.access_rule is None or body.access_rule.digest() != body.rule):
            raise BadRequest(
                f"field 'accessRule' of {where} is missing or does not match the rule digest "
                "the share is bound to; send the DecentralizedSecret's target, access and "
                "delivery exactly as they were sealed"
            )
        if body.access_rule is not None and not body.rule:
            raise BadRequest(f"field 'accessRule' of {where} is sent without field 'rule'")
        try:
            commitments = sharing.Commitments.from_bytes(body.commitments)
        except sharing.SharingError as error:
            raise BadRequest(f"field 'commitments' of {where} is malformed: {error}") from None
        if commitments.threshold != body.threshold:
            raise BadRequest(
                f"field 'threshold' of {where} is {body.threshold} but the "
                f"commitments are for threshold {commitments.threshold}"
            )
        try:
            sealed = SealedShare.from_bytes(body.sealed_share)
            context = self._context(slot, body.index, self._node, "store", body.rule)
            share = open_share(
                sealed,
                recipient=self._keys.encryption,
                context=context,
                sender=ed25519.Ed25519PublicKey.from_public_bytes(sealed.sender),
            )
        except (EnvelopeError, ValueError) as error:
            raise InvalidShare(
                f"{where} does not open with the key of node {self._node}: "
                f"{error}; seal it to this node's current encryptionKey"
            ) from None
        if not sharing.verify(share, commitments):
            raise InvalidShare(
                f"{where} does not match its commitments; the dealer sent a bad share"
            )
        return sealed.sender

    @staticmethod
    def _context(
        slot: Slot, index: int, recipient: str, purpose: Purpose, rule: bytes
    ) -> ShareContext:
        try:
            return ShareContext(
                slot.namespace, slot.name, slot.version, index, recipient, purpose, rule
            )
        except ValueError as error:
            raise BadRequest(f"{slot} index {index}: {error}") from None

    def _store_locked(
        self, slot: Slot, body: StoreRequest, digest: bytes, actor: str, sender: bytes
    ) -> SignedReceipt:
        held = self._storage.share(slot.namespace, slot.name, slot.version)
        if held is not None:  # a concurrent identical request got here first
            if held.digest == digest:
                return _receipt_answer(held.receipt, held.signature)
            raise Conflict(f"{slot} already holds a different share (index {held.index})")
        receipt = Receipt.of(
            self._node,
            slot.namespace,
            slot.name,
            slot.version,
            body.index,
            sealed_share=body.sealed_share,
            commitments=body.commitments,
            payload=body.payload,
            ledger_index=self._log.size,
        )
        receipt_bytes = json.dumps(receipt.to_dict()).encode()
        signature = receipt.sign(self._keys.signing)
        stored = StoredShare(
            slot.namespace,
            slot.name,
            slot.version,
            body.index,
            body.threshold,
            body.sealed_share,
            body.commitments,
            body.payload,
            digest,
            receipt_bytes,
            signature,
            body.rule,
            json.dumps(body.access_rule.to_json()) if body.access_rule else "",
        )
        bound = f", bound to access rule {body.rule.hex()[:16]}" if body.rule else ""
        if body.access_rule is not None and body.access_rule.delivery == Delivery.POD:
            bound += ", delivered only to pods it allows"
        reason = (
            f"verified against commitments sha256 {receipt.commitments_sha256[:16]}, "
            f"threshold {body.threshold}, sealed by key {sender.hex()[:16]}{bound}"
        )
        self._append(
            entry(
                EntryKind.SHARE_STORED, actor, **_slot_fields(slot), index=body.index, reason=reason
            ),
            put=stored,
        )
        self.shares_held += 1
        return _receipt_answer(receipt_bytes, signature)

    # -- list --------------------------------------------------------------------------

    async def held(self, namespace: str, name: str) -> list[HeldVersion]:
        """Versions held for one secret, with their receipts; no share material."""
        shares = await self._write(self._storage.shares, namespace, name)
        return [
            HeldVersion(held.version, held.index, _receipt_answer(held.receipt, held.signature))
            for held in shares
        ]

    # -- release -----------------------------------------------------------------------

    async def release(self, slot: Slot, body: ReleaseRequest, *, actor: str) -> Released:
        """Re-seal, then ledger, then answer: only a share that really leaves is logged."""
        recipient = _recipient(slot, body)
        held = await self._write(self._held, slot)
        if _delivery(held) == Delivery.POD:
            reason = (
                f"{slot} has delivery Pod: its share goes only to the pods its access rule "
                "allows, never to the operator"
            )
            await self.refuse(action="release", slot=slot, actor=actor, reason=reason)
            raise Forbidden(reason)
        return await self._send(slot, held, recipient, actor, body.reason)

    async def _send(
        self,
        slot: Slot,
        held: StoredShare,
        recipient: EncryptionPublicKey,
        actor: str,
        why: str,
        pod: PodIdentity | None = None,
    ) -> Released:
        try:
            sealed = await asyncio.to_thread(self._reseal, slot, held, recipient, actor)
        except BadRequest as error:
            await self.refuse(action="release", slot=slot, actor=actor, reason=str(error), pod=pod)
            raise
        await self._write(self._release_locked, slot, held, recipient, why, actor, pod)
        return Released(
            held.index, held.threshold, sealed, held.commitments, held.payload, held.rule
        )

    # -- delivery to pods --------------------------------------------------------------

    async def deliver(self, slot: Slot, body: ReleaseRequest, pod: PodIdentity) -> Released:
        """Release a share of a delivery-Pod version to ``pod``, if this node's own check of
        the pod against the version's access rule allows it: decided, logged, then sent."""
        recipient = _recipient(slot, body)
        held = await self._write(self._held, slot)
        decision = self._may_receive(slot.namespace, slot.name, held, pod)
        actor = _actor(pod)
        if not decision:
            await self.refuse(
                action="delivery", slot=slot, actor=actor, reason=decision.reason, pod=pod
            )
            raise Forbidden(decision.reason)
        why = f"delivered to {pod}: {decision.reason}"
        return await self._send(slot, held, recipient, actor, why, pod)

    async def deliverable(self, namespace: str, name: str, pod: PodIdentity) -> dict[int, int]:
        """The versions of ``namespace/name`` this node would deliver to ``pod`` (with
        their thresholds); a pod it holds shares for but allows none of is refused, and
        logged."""
        shares = await self._write(self._storage.shares, namespace, name)
        decisions = [(held, self._may_receive(namespace, name, held, pod)) for held in shares]
        allowed = {held.version: held.threshold for held, decision in decisions if decision}
        if decisions and not allowed:
            reason = decisions[-1][1].reason
            await self.refuse(
                action="delivery",
                actor=_actor(pod),
                reason=reason,
                namespace=namespace,
                name=name,
                pod=pod,
            )
            raise Forbidden(reason)
        return allowed

    async def newer(
        self, namespace: str, name: str, pod: PodIdentity, after: int, wait: float
    ) -> dict[int, int]:
        """:meth:`deliverable`, once a version above ``after`` is there or ``wait``
        seconds have passed: a store of ``namespace/name`` wakes the wait."""
        key = (namespace, name)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            seen = self._stores.get(key, 0)  # before listing: a store meanwhile is not missed
            versions = await self.deliverable(namespace, name, pod)
            left = deadline - asyncio.get_running_loop().time()
            if max(versions, default=0) > after or left <= 0 or self._closing:
                return versions
            async with self._stored:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stored.wait_for(partial(self._stored_since, key, seen)), left
                    )

    def _stored_since(self, key: tuple[str, str], seen: int) -> bool:
        return self._closing or self._stores.get(key, 0) != seen

    async def stop_waiting(self) -> None:
        """Answer every long poll now (the node is shutting down: no handler holds it)."""
        async with self._stored:
            self._closing = True
            self._stored.notify_all()

    @staticmethod
    def _may_receive(
        namespace: str, name: str, held: StoredShare, pod: PodIdentity
    ) -> policy.Decision:
        rule = _access_rule(held)
        if rule is None or rule.delivery != Delivery.POD:
            return policy.Decision(
                False, f"{namespace}/{name} version {held.version} is not delivered to pods"
            )
        return policy.evaluate(
            rule.access,
            secret_namespace=namespace,
            namespace=pod.namespace,
            service_account=pod.service_account,
            secret_name=name,
        )

    def _held(self, slot: Slot) -> StoredShare:
        held = self._storage.share(slot.namespace, slot.name, slot.version)
        if held is None:
            raise NotFound(f"node {self._node} holds no share of {slot}")
        return held

    def _release_locked(
        self,
        slot: Slot,
        held: StoredShare,
        recipient: EncryptionPublicKey,
        why: str,
        actor: str,
        pod: PodIdentity | None,
    ) -> None:
        if self._held(slot).digest != held.digest:  # destroyed (and re-dealt) while re-sealing
            raise NotFound(f"node {self._node} no longer holds the share of {slot} it sealed")
        reason = f"{why}; sealed to {recipient.kem} key {recipient.fingerprint_bytes().hex()[:16]}"
        self._append(
            entry(
                EntryKind.SHARE_RELEASED,
                actor,
                **_slot_fields(slot),
                index=held.index,
                reason=reason[:MAX_REASON],
                **_pod_fields(pod),
            )
        )

    def _reseal(
        self, slot: Slot, held: StoredShare, recipient: EncryptionPublicKey, actor: str
    ) -> bytes:
        sealed = SealedShare.from_bytes(held.sealed)
        share = open_share(
            sealed,
            recipient=self._keys.encryption,
            context=self._context(slot, held.index, self._node, "store", held.rule),
            sender=ed25519.Ed25519PublicKey.from_public_bytes(sealed.sender),
        )
        if self._unsafe_corrupt_releases:  # a lying node, for fault drills
            share = sharing.Share(share.index, value=share.blinding, blinding=share.value)
        context = self._context(slot, held.index, actor, "release", held.rule)
        try:
            sealed_again = seal_share(
                share, recipient=recipient, context=context, sender=self._keys.signing
            )
        except InvalidKey as error:  # e.g. a low-order X25519 point: the caller's key
            raise BadRequest(
                f"field 'recipientKey' of the release of {slot}: {error}; "
                "send a freshly generated public key"
            ) from None
        return sealed_again.to_bytes()

    # -- destroy -----------------------------------------------------------------------

    async def destroy(
        self, namespace: str, name: str, version: int | None, *, actor: str
    ) -> list[int]:
        """Ledger and erase in one transaction; the versions destroyed (maybe none)."""
        return await self._write(self._destroy_locked, namespace, name, version, actor)

    def _destroy_locked(
        self, namespace: str, name: str, version: int | None, actor: str
    ) -> list[int]:
        doomed = [
            held
            for held in self._storage.shares(namespace, name)
            if version is None or held.version == version
        ]
        if doomed:
            self._append(
                *(
                    entry(
                        EntryKind.SHARE_DESTROYED,
                        actor,
                        namespace=namespace,
                        name=name,
                        version=held.version,
                        index=held.index,
                        reason="destroyed at the operator's request",
                    )
                    for held in doomed
                ),
                erase=(namespace, name, [held.version for held in doomed]),
            )
            self.shares_held -= len(doomed)
        return [held.version for held in doomed]

    # -- refusals ----------------------------------------------------------------------

    async def refuse(
        self,
        *,
        action: str,
        actor: str | None,
        reason: str,
        slot: Slot | None = None,
        namespace: str | None = None,
        name: str | None = None,
        pod: PodIdentity | None = None,
    ) -> None:
        """Put a refusal on the ledger (who, if known; what; why; never a token).

        Refusals go through a :class:`RefusalBudget`, one for anonymous callers and one
        per identity (any pod may project a token for a node's audience), so a flood
        cannot grow the ledger without bound; those held back are counted in the next.
        """
        fields = _slot_fields(slot) if slot else {"namespace": namespace, "name": name}
        if actor is None:
            budget, what = self._anonymous, "anonymous refusals"
        else:
            if actor not in self._actors and len(self._actors) >= ACTORS_KEPT:
                self._actors.clear()
            budget, what = self._actors.setdefault(actor, RefusalBudget()), "refusals"
        text = _budgeted(budget, f"{action} refused: {reason}", what)
        if text is None:
            return
        await self._write(
            self._append,
            entry(
                EntryKind.SHARE_REFUSED,
                actor or ANONYMOUS,
                reason=text[:MAX_REASON],
                **fields,
                **_pod_fields(pod),
            ),
        )

    async def record_fork(self, origin: str, reason: str) -> None:
        """Put evidence of a forked peer log on the ledger: a checkpoint signed by that log's
        own key that contradicts what this node cosigned. Never budgeted: only the holder
        of the log's key can produce one."""
        text = f"{FORK_EVIDENCE}: {reason}"[:MAX_REASON]
        await self.append(entry(EntryKind.WITNESS_REFUSED, origin, reason=text))

    async def refuse_checkpoint(self, origin: str | None, reason: str) -> None:
        """Put a refused add-checkpoint on the ledger (possible evidence of a forged or
        forked log); its origin is only claimed, so these are budgeted like anonymous
        refusals, in a bucket of their own."""
        text = _budgeted(self._checkpoints, f"refused to cosign: {reason}", "refused checkpoints")
        if text is not None:
            await self.append(
                entry(EntryKind.WITNESS_REFUSED, origin or "unknown", reason=text[:MAX_REASON])
            )

    # -- ledger reads ------------------------------------------------------------------

    async def checkpoint_with_cosignatures(self) -> str:
        """The newest signed checkpoint with every cosignature peers returned for it."""
        latest = await self._write(self._storage.latest_checkpoint)
        if latest is None:
            raise NotFound(f"node {self._node} has no checkpoint yet")
        size, note = latest
        lines = await self._write(self._storage.cosignatures, size)
        return note + "".join(lines)

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Entry bodies ``[start, end)``, at most :data:`ENTRIES_PAGE`."""
        size = self._log.size
        if not start <= end <= size:
            raise NotFound(
                f"entries [{start}, {end}) are outside the ledger of node "
                f"{self._node} (size {size}); ask for 0 <= start <= end <= {size}"
            )
        return await self._write(self._storage.entries, start, min(end, start + ENTRIES_PAGE))

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """An audit path, computed off the event loop (see :meth:`_proof`)."""
        return await self._proof(self._log.inclusion_proof, index, size)

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """A consistency proof, computed off the event loop (see :meth:`_proof`)."""
        return await self._proof(self._log.consistency_proof, old, new)

    async def _proof(
        self, compute: Callable[[int, int], list[bytes]], a: int, b: int
    ) -> list[bytes]:
        """Proofs are public and cost O(size) hashing: computed in a thread (the log is
        append-only, so a prefix is safe to read while the writer appends), at most
        :data:`PROOFS_AT_ONCE` at a time, and remembered, so no caller, authenticated or
        not, holds the event loop or makes the same proof twice."""
        key = (compute.__name__, a, b)
        cached = self._proofs.get(key)
        if cached is not None:
            self._proofs.move_to_end(key)
            return cached
        async with self._proving:
            proof = await asyncio.to_thread(compute, a, b)
        self._proofs[key] = proof
        if len(self._proofs) > PROOFS_KEPT:
            self._proofs.popitem(last=False)
        return proof

    # -- witness state (used by the witness) -------------------------------------------

    async def append(self, *entries: Entry) -> None:
        """Append entries that change no custody state (e.g. witness refusals)."""
        await self._write(self._append, *entries)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(storage, *args)`` on the writer thread."""
        return await self._write(function, self._storage, *args)


ACTORS_KEPT = 256
"""Identities with a refusal budget of their own, at most (then the budgets start over)."""
PROOFS_AT_ONCE = 2
"""Merkle proofs computed at the same time, at most (one per core on a 2-core node)."""
PROOFS_KEPT = 256
"""Proofs remembered (a proof for sizes that exist never changes)."""


def _budgeted(budget: RefusalBudget, text: str, what: str) -> str | None:
    """``text`` if the budget lets it onto the ledger, saying how many were held back
    before it; None when it is only counted."""
    held_back = budget.take()
    if held_back is None:
        return None
    return f"{held_back} {what} held back before this one; {text}" if held_back else text


def _recipient(slot: Slot, body: ReleaseRequest) -> EncryptionPublicKey:
    try:
        return EncryptionPublicKey.from_bytes(body.recipient_key, kem=body.kem)
    except (EnvelopeError, ValueError) as error:
        raise BadRequest(
            f"fields 'recipientKey'/'kem' of the release of {slot}: {error}; "
            "send a fresh public key of a supported KEM"
        ) from None


def _access_rule(held: StoredShare) -> AccessRule | None:
    return AccessRule.from_json(json.loads(held.access_rule)) if held.access_rule else None


def _delivery(held: StoredShare) -> Delivery:
    rule = _access_rule(held)
    return rule.delivery if rule is not None else Delivery.SECRET


def _actor(pod: PodIdentity) -> str:
    return names.service_account_user(pod.namespace, pod.service_account)


def _pod_fields(pod: PodIdentity | None) -> dict[str, Any]:
    return {"pod": f"{pod.namespace}/{pod.name}", "pod_uid": pod.uid} if pod else {}


def _slot_fields(slot: Slot) -> dict[str, Any]:
    return {"namespace": slot.namespace, "name": slot.name, "version": slot.version}


def _receipt_answer(receipt: bytes, signature: bytes) -> SignedReceipt:
    return SignedReceipt(json.loads(receipt), signature)
