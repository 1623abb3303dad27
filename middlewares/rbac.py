"""Role checks on the server for every message and callback handler.

A handler declares its minimum role with a flag: `@router.message(..., flags={"role": Role.ADMIN})`.
Handlers without the flag are public. A denied action gets a polite reply and an audit row.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from core import metrics
from middlewares.data import typed
from models.users import Role
from services import audit
from services.users.profiles import UserInfo

log = logging.getLogger(__name__)


def required_role(data: dict[str, Any]) -> Role:
    flag = get_flag(data, "role")
    return Role(flag) if flag is not None else Role.PUBLIC


class RBACMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        needed = required_role(data)
        if needed is Role.PUBLIC:
            return await handler(event, data)
        user = typed(data).get("user")
        if user is not None and user.role.at_least(needed):
            return await handler(event, data)
        await self._deny(event, user, needed)
        return None

    async def _deny(self, event: TelegramObject, user: UserInfo | None, needed: Role) -> None:
        kind = "callback" if isinstance(event, CallbackQuery) else "message"
        metrics.DENIED.labels(kind).inc()
        what = event.data if isinstance(event, CallbackQuery) else getattr(event, "text", None)
        actor = user.telegram_id if user is not None else None
        await audit.record(
            "access.denied",
            actor_id=actor,
            target=(what or "")[:128],
            needed=needed.value,
            role=user.role.value if user is not None else None,
            kind=kind,
        )
        log.info("access denied", extra={"user_id": actor, "needed": needed.value})
        text = _("rbac.denied")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
