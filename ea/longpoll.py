"""Long polling for terminals: wait for a wake-up, never poll the database in a loop.

Each waiting request holds a future keyed by its device. The bus wakes the devices whose
commands became pending (`CommandsPending`, after commit); woken pollers re-query the database,
and the queries of every poller woken in the same event-loop turn are one batched query
(`services.batching`), so a fan-out to a thousand terminals costs one SELECT, not a thousand.
On PostgreSQL, wake-ups from other replicas arrive over the replica bus (`core.bus_pg`);
when the wait ends without a wake-up the poller queries once more anyway, so a command whose
wake-up was lost (the bus reconnecting) is delivered by then at the latest. On shutdown every
waiter is released with an empty answer.

Revocation: a revoke in this process, or one another replica announces over the bus, ends the
device's polls at once. A revoke the bus does not carry (the CLI is another process; SQLite
has no bus; a replica whose bus is reconnecting) is found by a small periodic query, every
``revocation_check_s`` while polls wait: which of the waiting devices are revoked in the
database. The database is the one thing every process shares, so this needs no pid files,
signals or sockets, works with any number of processes on SQLite or PostgreSQL, and costs
one indexed query per interval (none while nobody waits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from services.batching import Batcher
from services.terminals import commands as ea_commands
from services.terminals.device_auth import Credentials, DeviceRef
from services.terminals.protocol import WireCommand

log = logging.getLogger(__name__)
MAX_POLLS_PER_DEVICE = 4
REVOCATION_CHECK_S = 2.0


class TooManyPolls(Exception):
    """The device already has `MAX_POLLS_PER_DEVICE` long polls open (HTTP 429)."""


class LongPollHub:
    """Per-device waiters of this process, and one batched pending-commands query."""

    def __init__(
        self, credentials: Credentials, revocation_check_s: float = REVOCATION_CHECK_S
    ) -> None:
        self._credentials = credentials
        self._waiters: dict[int, set[asyncio.Future[None]]] = {}
        self._revocation_check_s = revocation_check_s
        self._watch: asyncio.Task[None] | None = None
        self._fetcher: Batcher[int, list[WireCommand]] = Batcher(
            self._fetch, max_size=1000, name="ea.pending"
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self.batches = 0  # pending-commands queries run (one per batch of pollers)
        self.ended_by_revocation = 0  # polls answered early because their device was revoked

    def start(self) -> None:
        """Take wake-ups (`wake`, which the assembly subscribes to `CommandsPending`) from now
        on (call inside the serving event loop)."""
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self._watch = self._loop.create_task(self._watch_revocations(), name="ea-revocations")

    async def close(self) -> None:
        """Release every waiting poller (they answer at once) and finish bookkeeping."""
        self.closed = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        self._wake_now(list(self._waiters))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def waiting(self) -> int:
        """How many polls are waiting right now (all devices)."""
        return sum(len(w) for w in self._waiters.values())

    @property
    def bookkeeping(self) -> int:
        """How many "delivered" stamps are still being written (after their answers went out)."""
        return len(self._tasks)

    def waiting_for(self, device_pk: int) -> int:
        """How many polls of this device are waiting right now."""
        return len(self._waiters.get(device_pk, ()))

    def wake(self, device_pks: Sequence[int]) -> None:
        """Wake the pollers of these devices; safe to call from another thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake_now(device_pks)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_now, list(device_pks))

    def _wake_now(self, device_pks: Sequence[int]) -> None:
        for pk in device_pks:
            for waiter in self._waiters.get(pk, ()):
                if not waiter.done():
                    waiter.set_result(None)

    async def poll(self, device: DeviceRef, wait_s: float) -> list[WireCommand]:
        """Pending commands of the device, waiting up to ``wait_s`` for one to appear.

        Ends with nothing as soon as the device is revoked in this process.
        """
        device_pk = device.id
        if len(self._waiters.get(device_pk, ())) >= MAX_POLLS_PER_DEVICE:
            raise TooManyPolls
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(device_pk, set()).add(waiter)
            try:
                if self._credentials.revoked_here(device.device_id):
                    self.ended_by_revocation += 1
                    return []
                # Subscribed before querying: a wake-up between the two is not lost.
                commands = await self._fetcher.submit(device_pk)
                remaining = deadline - loop.time()
                if commands or remaining <= 0 or self.closed:
                    return commands
                try:
                    async with asyncio.timeout(remaining):
                        await waiter
                except TimeoutError:
                    return await self._fetcher.submit(device_pk)
            finally:
                self._forget(device_pk, waiter)

    async def _watch_revocations(self) -> None:
        """End the polls of devices revoked by another process (see the module docstring)."""
        while True:
            await asyncio.sleep(self._revocation_check_s)
            if not self._waiters:
                continue
            try:
                revoked = await self._credentials.find_revoked(list(self._waiters))
            except Exception as exc:  # the database is away: the next round tries again
                log.warning("revocation check failed", extra={"error": repr(exc)})
                continue
            if revoked:
                log.info(
                    "devices revoked elsewhere: their long polls end",
                    extra={"devices": [device_id for device_id, _ in revoked]},
                )
                self._wake_now([pk for _, pk in revoked])

    def _forget(self, device_pk: int, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(device_pk)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[device_pk]

    async def _fetch(self, device_pks: Sequence[int]) -> list[list[WireCommand]]:
        self.batches += 1
        found, fresh = await ea_commands.fetch_pending(device_pks)
        if fresh:  # bookkeeping after the answers go out, not before
            self._spawn(ea_commands.mark_delivered(fresh))
        return [found[pk] for pk in device_pks]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "could not mark commands delivered", extra={"error": repr(task.exception())}
            )
