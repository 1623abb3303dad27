"""Ops alerts to the owners' private chats: rate-limited and deduplicated by key."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)


class OwnerAlerts:
    """Send `text` to every owner at most once per `interval_s` for the same `key`."""

    def __init__(
        self,
        bot: Bot,
        owners: Iterable[int],
        interval_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.owners = tuple(owners)
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self.suppressed = 0

    def should_send(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self.suppressed += 1
            return False
        self._last[key] = now
        return True

    async def alert(self, key: str, text: str) -> bool:
        if not self.should_send(key):
            return False
        for owner in self.owners:
            try:
                await self.bot.send_message(owner, text, parse_mode=None)
            except TelegramAPIError:
                log.warning("could not alert owner", extra={"owner": owner}, exc_info=True)
        return True
