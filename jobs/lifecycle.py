"""The access lifecycle on the scheduler leader: the periodic pass (reminders, grace, end of
access, terminals for every user whose access changed: `services.billing.expiry.run_due`) and,
between passes, `enforce` soon after a user's access changed (`AccessWatch`, fed by the bus's
`UserChanged`: a payment, refund, grant, trial or promo). The pass is the safety net for a
change whose event was lost (a crash, a replica that was not the leader). Thin: each calls
one service and logs what it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core import clock
from services.billing import expiry
from services.events import UserChanged

log = logging.getLogger(__name__)


async def lifecycle_job() -> None:
    due = await expiry.run_due(clock.now())
    if due.reminders or due.grace or due.ended or due.enforced:
        log.info(
            "access lifecycle", extra={"reminders": due.reminders, "grace": due.grace,
                                       "ended": due.ended, "enforced": due.enforced},
        )  # fmt: skip


class AccessWatch:
    """Runs `enforce` for users named by `UserChanged` events, one at a time, in a task of its
    own (bus handlers must not do I/O). Started on the leader only; events heard while stopped
    are left to the periodic pass."""

    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.enforced = 0  # users whose terminals changed (for tests and logs)
        self.idle = asyncio.Event()
        self.idle.set()

    def user_changed(self, event: UserChanged) -> None:
        if self._task is None or event.telegram_id is None:  # None: the pass covers it
            return
        self._pending.add(event.telegram_id)
        self.idle.clear()
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="access-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending.clear()
        self.idle.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                telegram_id = self._pending.pop()
                try:
                    done = await expiry.enforce_telegram(telegram_id, clock.now())
                except Exception:
                    log.exception("enforce failed", extra={"telegram_id": telegram_id})
                    continue
                self.enforced += bool(done)
            self.idle.set()
