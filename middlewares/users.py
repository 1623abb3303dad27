"""Load (or register) the user behind each update; cached so the hot path costs no query.

Banned users stop here: their updates are dropped. The cache never serves a role or status
changed elsewhere: this process invalidates what it changes; other PostgreSQL replicas and the
CLI are heard over the replica bus (a database trigger announces every change: migration 0006),
and on SQLite, where the CLI is another process with no bus, a `ChangeProbe` asks the database
whether another connection wrote since the last look (bot/user_changes.py) and the cache is
emptied when one did.
`first_contact` (workflow data) is True only
for the update that registered the user: a deep link counts then and never again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser

from services import registration
from services.users import TelegramProfile, UserInfo

log = logging.getLogger(__name__)


class ChangeProbe(Protocol):
    """Tells whether users may have been changed outside this process since the last call."""

    async def changed(self) -> bool: ...


class UserCache:
    """A small TTL + LRU cache of `UserInfo` by Telegram id. `invalidate` after changes."""

    def __init__(self, ttl_s: float = 30.0, max_size: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._items: OrderedDict[int, tuple[float, UserInfo]] = OrderedDict()

    def get(self, telegram_id: int) -> UserInfo | None:
        item = self._items.get(telegram_id)
        if item is None:
            return None
        stamp, info = item
        if time.monotonic() - stamp > self.ttl_s:
            del self._items[telegram_id]
            return None
        self._items.move_to_end(telegram_id)
        return info

    def put(self, info: UserInfo) -> None:
        self._items[info.telegram_id] = (time.monotonic(), info)
        self._items.move_to_end(info.telegram_id)
        if len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def invalidate(self, telegram_id: int) -> None:
        self._items.pop(telegram_id, None)

    def clear(self) -> None:
        """Forget everyone (another process changed something we cannot pin down)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _profile(user: TgUser) -> TelegramProfile:
    return TelegramProfile(
        telegram_id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
    )


def _same_profile(info: UserInfo, user: TgUser) -> bool:
    return (info.username, info.first_name, info.last_name) == (
        user.username,
        user.first_name,
        user.last_name,
    )


class UserMiddleware(BaseMiddleware):
    def __init__(
        self, cache: UserCache, owners: frozenset[int], probe: ChangeProbe | None = None
    ) -> None:
        self.cache = cache
        self.owners = owners
        self.probe = probe

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        if self.probe is not None and await self.probe.changed():
            self.cache.clear()
        info = self.cache.get(tg_user.id)
        first_contact = False
        if info is None or not _same_profile(info, tg_user):
            contact = await registration.ensure_contact(_profile(tg_user), owners=self.owners)
            info, first_contact = contact.user, contact.first_contact
            self.cache.put(info)
        if info.is_banned:
            log.info("dropped update from banned user", extra={"user_id": tg_user.id})
            return None
        data["user"] = info
        data["first_contact"] = first_contact
        return await handler(event, data)
