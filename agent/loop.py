"""The agent's life in its pod: deliver every secret once, then keep them current.

The first delivery of every secret must succeed, or the agent exits 1 and the pod never
becomes ready (its startupProbe waits for ``<directory>/..data``). After that, every
interval it asks the nodes again and swaps in a newer version when t of them deliver
it; a failure then keeps the files as they are, is logged, and is retried next time.
SIGTERM or SIGINT ends it cleanly, with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Mapping, Sequence

import aiohttp

from kuorum.agent.files import UnsafeKey, Volume, wipe
from kuorum.agent.gather import newest
from kuorum.agent.tokens import reader, service_account
from kuorum.agentconfig import AgentConfig, AgentSecret, nodes_of
from kuorum.errors import UserError
from kuorum.kube.nodeclient import NodeClient, Source

log = logging.getLogger("kuorum.agent")


class Deliverer:
    """One secret of the pod: its nodes, its directory, and the version its files hold."""

    def __init__(
        self, secret: AgentSecret, sources: Sequence[Source], volume: Volume, identity: str
    ) -> None:
        self.secret = secret
        self.sources = sources
        self.volume = volume
        self.identity = identity
        self.version = 0
        """The version the files hold; 0 before the first delivery."""
        self.listed: dict[str, int] = {}
        """The newest version each node listed last time: each is watched past its own."""

    async def refresh(self) -> bool:
        """Deliver the newest version above the one held; True if the files hold one.

        Every problem is logged in one line that names the nodes: an error while nothing
        is delivered yet, a warning once the files hold a version (they keep it).
        """
        secret = self.secret
        outcome = await newest(
            self.sources,
            namespace=secret.namespace,
            name=secret.name,
            identity=self.identity,
            above=self.version,
        )
        problems = list(outcome.problems)
        self.listed = dict(outcome.listed)
        gathered, held = outcome.gathered, self.version
        if gathered is not None:
            try:
                self.volume.write(secret.directory, gathered.data)
            except (UnsafeKey, OSError) as error:
                problems.append(f"version {gathered.version} not written: {error}")
            else:
                self.version = gathered.version
                log.info(
                    "delivered %s version %d from nodes %s",
                    secret.ref,
                    gathered.version,
                    ", ".join(gathered.nodes),
                )
            finally:
                wipe(gathered.data)
        said = "; ".join(problems)
        if problems and self.version != held:
            log.warning("%s version %d delivered despite: %s", secret.ref, self.version, said)
        elif problems and held:
            log.warning("%s: no newer version delivered, files keep %d: %s", secret.ref, held, said)
        elif problems:
            log.error("%s not delivered: %s", secret.ref, said)
        return self.version > 0

    async def changed(self, interval: float) -> None:
        """Return once a node lists a newer version than it did, or after ``interval``.

        Each node is asked to hold the request until it has one (a long poll of at most
        ``interval`` seconds): a rotation reaches the pod as soon as it is stored, and an
        idle pod costs one request per node per interval. A node that fails is not
        retried before the interval is over.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + interval
        wait = int(interval)
        if wait >= 1:
            secret = self.secret
            polls = {
                asyncio.create_task(
                    s.client.deliveries(
                        secret.namespace,
                        secret.name,
                        after=self.listed.get(s.client.name, self.version),
                        wait=wait,
                    )
                ): s.client.name
                for s in self.sources
            }
            try:
                if await _any_newer(polls, self.listed, self.version, deadline):
                    return
            finally:
                for task in polls:
                    task.cancel()
        await asyncio.sleep(max(deadline - loop.time(), 0))


async def _any_newer(
    polls: dict[asyncio.Task[Mapping[int, int]], str],
    listed: Mapping[str, int],
    held: int,
    deadline: float,
) -> bool:
    """Whether a poll answers, before ``deadline``, with a version above what its node
    listed before (failed polls count as no news)."""
    loop = asyncio.get_running_loop()
    pending = set(polls)
    while pending:
        done, pending = await asyncio.wait(
            pending, timeout=max(deadline - loop.time(), 0), return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            return False
        for task in done:
            if task.exception() is None and max(task.result(), default=0) > listed.get(
                polls[task], held
            ):
                return True
    return False


async def serve(
    config: AgentConfig, *, once: bool, interval: float, stop: asyncio.Event | None = None
) -> int:
    """Deliver, then watch (unless ``once``) until ``stop`` or SIGTERM/SIGINT: the exit
    status, 1 if a first delivery failed."""
    stop = stop or _stop_on_signals()
    work = asyncio.create_task(_deliver(config, once=once, interval=interval))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if work.done():
        return work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await work
    log.info("stopped")
    return 0


async def _deliver(config: AgentConfig, *, once: bool, interval: float) -> int:
    identity = service_account(config.tokens, nodes_of(config.secrets)[0])
    volume = Volume(config.group)
    async with aiohttp.ClientSession() as session:
        deliverers = [
            Deliverer(secret, _sources(session, secret, config.tokens), volume, identity)
            for secret in config.secrets
        ]
        log.info("delivering %d secret(s) as %s", len(deliverers), identity)
        if not all(await asyncio.gather(*(d.refresh() for d in deliverers))):
            return 1
        while not once:
            await asyncio.gather(*(_watch(d, interval) for d in deliverers))
    return 0


async def _watch(deliverer: Deliverer, interval: float) -> None:
    """Refresh one secret whenever its nodes have news (or every ``interval``), forever."""
    while True:
        await deliverer.changed(interval)
        await deliverer.refresh()


def _sources(session: aiohttp.ClientSession, secret: AgentSecret, tokens: str) -> list[Source]:
    """A pinned client per node of ``secret``, each sending the pod's token for that node."""
    sources = []
    for node in secret.nodes:
        try:
            client = NodeClient(
                session,
                name=node.name,
                endpoint=node.endpoint,
                certificate=node.certificate,
                signing_key=node.signing_key,
                token=reader(tokens, node.name),
            )
        except (ssl.SSLError, ValueError) as error:
            raise UserError(
                f"the certificate of node {node.name} in the agent config does not load "
                f"({error}); it must be the PEM its ShareNode publishes"
            ) from None
        sources.append(Source(client, node.signing_key))
    return sources


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    return stop
