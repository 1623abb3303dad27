"""What the sandbox watches in the app to help a newcomer follow along.

* :class:`SignalHoldWatch`: the replay controller's :class:`~trading.replay.HoldWatch`: each
  newly published signal holds the replay until its first decision (approve or reject, by
  anyone it reached) or until it is no longer open.
* :class:`PersonaLabels`: the page's persona labels ("Owner", "Subscriber", ...) follow the
  personas' roles in the database, whoever changed them (a chat command, the CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from models.signals import Decision
from models.users import Role
from services.errors import NotFound
from services.signals import approvals
from services.signals import lifecycle as signals
from services.signals.views import SignalView
from services.users import profiles as users_service
from tgemu import Emulator
from trading.replay import Hold

log = logging.getLogger(__name__)
ROLE_LABELS = {
    Role.OWNER: "Owner",
    Role.ADMIN: "Admin",
    Role.SUBSCRIBER: "Subscriber",
    Role.PUBLIC: "Visitor",
}
LABEL_POLL_S = 1.0


def _hold_for(view: SignalView) -> Hold:
    subject = f"signal #{view.id} ({view.symbol} {view.side.upper()})"
    return Hold(f"signal:{view.id}", subject, "a subscriber's decision")


class SignalHoldWatch:
    """Reports each open signal newer than the last one reported (or than those open when
    :meth:`prime` ran), and settles its hold on the first decision."""

    def __init__(self) -> None:
        self._seen = 0

    async def prime(self) -> None:
        """Signals already open at start-up do not hold the replay."""
        self._seen = max((view.id for view in await signals.active()), default=0)

    async def fresh(self) -> Hold | None:
        new = [view for view in await signals.active() if view.id > self._seen]
        if not new:
            return None
        newest = max(new, key=lambda view: view.id)
        self._seen = newest.id
        return _hold_for(newest) if newest.is_open else None  # nothing to decide on a fill

    async def settled(self, hold: Hold) -> str | None:
        signal_id = int(hold.key.removeprefix("signal:"))
        counts = await approvals.counts(signal_id)
        if counts[Decision.APPROVED]:
            return f"signal #{signal_id} approved"
        if counts[Decision.REJECTED]:
            return f"signal #{signal_id} rejected"
        try:
            view = await signals.get(signal_id)
        except NotFound:
            return f"signal #{signal_id} is gone"
        return None if view.is_open else f"signal #{signal_id} is {view.status.value}"


class PersonaLabels:
    """Keeps the emulator's persona labels in step with their roles (polled: a role may change
    in another process, e.g. ``python -m bot users role``)."""

    def __init__(self, emulator: Emulator, persona_ids: Iterable[int]) -> None:
        self.emulator = emulator
        self.persona_ids = tuple(persona_ids)
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        for telegram_id in self.persona_ids:
            try:
                user = await users_service.get_by_telegram_id(telegram_id)
            except NotFound:  # never wrote to the bot: keeps its seed label ("New visitor")
                continue
            label = ROLE_LABELS[user.role] + (" · banned" if user.is_banned else "")
            persona = self.emulator.users.get(telegram_id)
            if persona is not None and persona.label != label:
                self.emulator.update_user(telegram_id, label=label)

    def start(self, interval_s: float = LABEL_POLL_S) -> None:
        self._task = asyncio.create_task(self._run(interval_s), name="sandbox-persona-labels")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, interval_s: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # the labels are a convenience: never take the sandbox down
                log.exception("sandbox persona labels not refreshed")
            await asyncio.sleep(interval_s)
