"""The VIP chat: /vip_channel (owner: name the chat), /vip (a paying user's own invite link),
and the chat's membership updates (chat_member, chat_join_request). Thin: the rules are in
`services.billing.vip`; Telegram is reached through the injected port (`vip`)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import CommandObject
from aiogram.types import ChatJoinRequest, ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from core import clock
from handlers.commands import cmd
from handlers.render import fmt
from models.users import Role
from services.billing import vip as vip_service
from services.billing.vip import MemberChange, VipTelegram
from services.users.profiles import UserInfo

router = Router(name=__name__)
log = logging.getLogger(__name__)
OWNER = {"role": Role.OWNER}


@router.message(cmd("vip_channel"), flags=OWNER)
async def vip_channel(
    message: Message, command: CommandObject, user: UserInfo, vip: VipTelegram
) -> None:
    ref = (command.args or "").strip()
    if not ref and message.chat.type != "private":
        ref = str(message.chat.id)  # sent inside the group: this group
    if not ref:
        chat = await vip_service.current_chat()
        if chat is None:
            await message.answer(_("vip.channel_usage"))
        else:
            await message.answer(fmt(_("vip.channel_current"), title=chat.title, id=chat.id))
        return
    chat = await vip_service.set_chat(vip, ref, actor_id=user.telegram_id)
    await message.answer(fmt(_("vip.channel_saved"), title=chat.title, id=chat.id))


@router.message(cmd("vip"))
async def vip_link(message: Message, user: UserInfo, vip: VipTelegram) -> None:
    if message.chat.type != "private":  # a personal link is never posted in a group
        await message.answer(_("vip.private_only"))
        return
    invite = await vip_service.issue_invite(vip, user.telegram_id, clock.now())
    await message.answer(fmt(_("vip.invite"), link=invite.link, expires=invite.expires_at))


def _status(member: object) -> str:
    """The member's status, with a restricted user who is not in the chat as "left"."""
    status = str(getattr(member, "status", "left"))
    if status == "restricted" and not getattr(member, "is_member", True):
        return "left"
    return status


@router.chat_member()
async def member_changed(event: ChatMemberUpdated, bot: Bot, vip: VipTelegram) -> None:
    link = event.invite_link
    change = MemberChange(
        chat_id=event.chat.id,
        telegram_id=event.new_chat_member.user.id,
        old_status=_status(event.old_chat_member),
        new_status=_status(event.new_chat_member),
        invite_link=link.invite_link if link is not None else None,
        link_is_primary=bool(link and link.is_primary),
        by_bot=event.from_user.id == bot.id,
    )
    outcome = await vip_service.on_member_change(vip, change, clock.now())
    if outcome != "ignored":
        log.info("vip member change", extra={"user_id": change.telegram_id, "outcome": outcome})


@router.chat_join_request()
async def join_requested(event: ChatJoinRequest, vip: VipTelegram) -> None:
    approved = await vip_service.on_join_request(
        vip, event.chat.id, event.from_user.id, clock.now()
    )
    if approved is not None:
        log.info("vip join request", extra={"user_id": event.from_user.id, "approved": approved})
