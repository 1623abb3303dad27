"""The users' cache of every replica: `UserInfo` by Telegram id, so the hot path costs no query.

Filled by the user middleware, invalidated by whoever changes a user (role, ban, language) and,
for changes made elsewhere (the CLI, another replica), by a `ChangeProbe` or the replica bus.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from services.users.profiles import UserInfo


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
