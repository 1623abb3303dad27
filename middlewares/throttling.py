"""Per-user throttling: a token bucket per user; excess updates are dropped.

The first dropped update of a burst gets one warning reply; the rest are dropped silently
until the user's bucket has refilled. The warning speaks the user's saved language: this
middleware runs before the user middleware, so it reads the `user_cache` the dispatcher holds
(no query: a flooding user's profile was cached by the updates that emptied the bucket), and
falls back to Telegram's language_code, then the default language, as the i18n middleware does.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n

from core import metrics
from middlewares.data import UpdateData, typed
from services.text.i18n import pick_locale
from services.users.cache import UserCache

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class TokenBuckets:
    """Token buckets keyed by user id, bounded in size (least recently used are forgotten)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def take(self, key: int) -> tuple[bool, bool]:
        """Try to spend one token: (allowed, should_warn)."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, stamp=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            if bucket.tokens >= 1.0:
                bucket.warned = False
            return True, False
        should_warn = not bucket.warned
        bucket.warned = True
        return False, should_warn


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(self, buckets: TokenBuckets, i18n: I18n) -> None:
        self.buckets = buckets
        self.i18n = i18n

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = typed(data).get("event_from_user")
        if user is None:
            return await handler(event, data)
        allowed, warn = self.buckets.take(user.id)
        if allowed:
            return await handler(event, data)
        metrics.THROTTLED.inc()
        if warn:
            log.warning("throttled user", extra={"user_id": user.id})
            await self._warn(event, self._locale(user, typed(data)))
        return None

    def _locale(self, user: TgUser, data: UpdateData) -> str:
        # .get: a dispatcher built without the app's workflow data (tests) still throttles
        cache = data.get("user_cache")
        saved = cache.get(user.id) if isinstance(cache, UserCache) else None
        settings = data.get("settings")
        default = getattr(settings, "default_language", None) or "en"
        return pick_locale(self.i18n.available_locales, saved, user, default)

    async def _warn(self, event: TelegramObject, locale: str) -> None:
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = self.i18n.gettext("throttle.slow_down")
        inner = event.event if isinstance(event, Update) else event
        if isinstance(inner, Message):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=False)
