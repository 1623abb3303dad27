"""`services.billing.vip.VipTelegram` implemented with aiogram's Bot (the assembly injects it).

Telegram's refusals that mean "no such chat" become `VipChatUnavailable`; getChatMember on a
user Telegram does not know answers "left" (they are not in the chat). Anything else raises.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatMemberAdministrator

from services.billing.vip import ChatFacts, VipChatUnavailable

_RIGHTS = ("can_invite_users", "can_restrict_members", "can_manage_chat")
_NOT_A_USER = ("user not found", "participant_id_invalid", "user_id_invalid")


def _status(value: object) -> str:
    """An aiogram status or chat type as its Bot API string (they may arrive as enums)."""
    return str(value.value) if isinstance(value, Enum) else str(value)


class TelegramVip:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def chat_facts(self, chat: int | str) -> ChatFacts:
        try:
            info = await self.bot.get_chat(chat)
            me = await self.bot.get_chat_member(info.id, self.bot.id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            raise VipChatUnavailable(str(exc)) from exc
        rights: frozenset[str] = frozenset()
        if isinstance(me, ChatMemberAdministrator):
            rights = frozenset(r for r in _RIGHTS if getattr(me, r, False))
        title = info.title or info.username or str(info.id)
        admin = _status(me.status) == "administrator"
        return ChatFacts(info.id, title, _status(info.type), admin, rights)

    async def create_link(self, chat_id: int, *, name: str, expires_at: datetime) -> str:
        link = await self.bot.create_chat_invite_link(
            chat_id, name=name[:32], expire_date=expires_at, member_limit=1
        )
        return link.invite_link

    async def revoke_link(self, chat_id: int, link: str) -> None:
        await self.bot.revoke_chat_invite_link(chat_id, link)

    async def member_status(self, chat_id: int, telegram_id: int) -> str:
        try:
            member = await self.bot.get_chat_member(chat_id, telegram_id)
        except TelegramBadRequest as exc:
            if any(text in exc.message.lower() for text in _NOT_A_USER):
                return "left"
            raise
        if member.status == "restricted" and not getattr(member, "is_member", True):
            return "left"
        return _status(member.status)

    async def remove(self, chat_id: int, telegram_id: int) -> None:
        await self.bot.ban_chat_member(chat_id, telegram_id)
        await self.bot.unban_chat_member(chat_id, telegram_id, only_if_banned=True)

    async def answer_request(self, chat_id: int, telegram_id: int, *, approve: bool) -> None:
        if approve:
            await self.bot.approve_chat_join_request(chat_id, telegram_id)
        else:
            await self.bot.decline_chat_join_request(chat_id, telegram_id)
