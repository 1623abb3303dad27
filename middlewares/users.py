"""Load (or register) the user behind each update; cached so the hot path costs no query.

Banned users stop here: their updates are dropped. The cache never serves a role or status
changed elsewhere: this process invalidates what it changes; other PostgreSQL replicas and the
CLI are heard over the replica bus (a database trigger announces every change: migration 0006),
and on SQLite, where the CLI is another process with no bus, a `ChangeProbe` asks the database
whether another connection wrote since the last look (core/db_changes.py) and the cache is
emptied when one did.
The user's `Access` (what they paid for) is loaded with them and reloaded once its period ends.
`first_contact` (workflow data) is True only
for the update that registered the user: a deep link counts then and never again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from core import clock
from middlewares.data import typed
from services.users import registration
from services.users.cache import ChangeProbe, UserCache
from services.users.profiles import TelegramProfile, UserInfo

log = logging.getLogger(__name__)


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
        context = typed(data)
        tg_user = context.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        if self.probe is not None and await self.probe.changed():
            self.cache.clear()
        info = self.cache.get(tg_user.id)
        first_contact = False
        now = clock.now()
        generation = self.cache.generation
        if info is None or not _same_profile(info, tg_user):
            contact = await registration.ensure_contact(_profile(tg_user), owners=self.owners)
            info, first_contact = contact.user, contact.first_contact
            info = await registration.with_access(info, now, first_contact=first_contact)
            self.cache.put(info, generation)
        elif info.access is None or not info.access.still_valid(now):  # its period ended
            info = await registration.with_access(info, now)
            self.cache.put(info, generation)
        if info.is_banned and not _money(event):
            log.info("dropped update from banned user", extra={"user_id": tg_user.id})
            return None
        context["user"] = info
        context["first_contact"] = first_contact
        return await handler(event, data)


def _money(event: TelegramObject) -> bool:
    """Payment updates reach a banned user's handlers too: a pre-checkout must be answered
    (refused, with the reason) and money already moved (a payment, a refund) must be recorded."""
    if not isinstance(event, Update):
        return False
    if event.pre_checkout_query is not None or event.subscription is not None:
        return True
    message = event.message
    return message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )
