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
    """A small TTL + LRU cache of `UserInfo` by Telegram id. `invalidate` after changes.

    A reader that loads a user from the database takes `generation` first and hands it to
    `put`: if an invalidation came in between (the change committed while the load was in
    flight), the possibly stale load is not cached."""

    def __init__(self, ttl_s: float = 30.0, max_size: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._items: OrderedDict[int, tuple[float, UserInfo]] = OrderedDict()
        self.generation = 0  # bumped by every invalidation

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

    def put(self, info: UserInfo, generation: int | None = None) -> None:
        """Cache `info`; with the `generation` read before loading it, only if nothing was
        invalidated since."""
        if generation is not None and generation != self.generation:
            return
        self._items[info.telegram_id] = (time.monotonic(), info)
        self._items.move_to_end(info.telegram_id)
        if len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def invalidate(self, telegram_id: int) -> None:
        self.generation += 1
        self._items.pop(telegram_id, None)

    def changed(self, telegram_id: int | None) -> None:
        """A `UserChanged` event: that user changed (None: anyone may have)."""
        if telegram_id is None:
            self.clear()
        else:
            self.invalidate(telegram_id)

    def clear(self) -> None:
        """Forget everyone (another process changed something we cannot pin down)."""
        self.generation += 1
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
