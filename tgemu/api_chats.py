"""Bot API: chat info, members, bans and invite links."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import secrets
from typing import Any

from tgemu.errors import bad_request
from tgemu.members import member_api, member_update, status
from tgemu.models import ChatRec
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator

_GIFTS = {
    "unlimited_gifts": True,
    "limited_gifts": True,
    "unique_gifts": True,
    "premium_subscription": True,
    "gifts_from_channels": True,
}


@method("getChat")
async def get_chat(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    return {
        **chat.api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict(_GIFTS),
    }


@method("getChatMember")
async def get_chat_member(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    user_id = p.integer("user_id", required=True) or 0
    if user_id != emu.bot_id and user_id not in emu.users:
        raise bad_request("user not found")
    return member_api(emu, chat, user_id)


@method("getChatMemberCount")
async def get_chat_member_count(emu: Emulator, p: Params) -> int:
    chat = emu.chat(p.chat_id())
    return len(chat.members) + (0 if chat.type == "private" else 1)


@method("getChatAdministrators")
async def get_chat_administrators(emu: Emulator, p: Params) -> list[dict[str, Any]]:
    chat = emu.chat(p.chat_id())
    admins = sorted(chat.admins) + ([emu.bot_id] if chat.bot_is_admin else [])
    return [member_api(emu, chat, user_id) for user_id in admins]


def _moderated(emu: Emulator, p: Params) -> tuple[ChatRec, int]:
    chat = emu.chat(p.chat_id())
    user_id = p.integer("user_id", required=True) or 0
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    if not chat.bot_is_admin:
        raise bad_request("not enough rights to restrict/unrestrict chat member")
    if user_id in chat.admins:
        raise bad_request("user is an administrator of the chat")
    return chat, user_id


@method("banChatMember", "kickChatMember")
async def ban_chat_member(emu: Emulator, p: Params) -> bool:
    chat, user_id = _moderated(emu, p)
    old = status(emu, chat, user_id)
    chat.banned[user_id] = p.integer("until_date") or 0
    chat.members.discard(user_id)
    member_update(emu, chat, user_id, old, actor=emu.bot_id)
    emu.notify()
    return True


@method("unbanChatMember")
async def unban_chat_member(emu: Emulator, p: Params) -> bool:
    chat, user_id = _moderated(emu, p)
    old = status(emu, chat, user_id)
    if user_id in chat.banned:
        del chat.banned[user_id]
    elif p.boolean("only_if_banned"):
        return True
    else:
        # Telegram's documented surprise: unbanning a current member removes them.
        chat.members.discard(user_id)
    if old != status(emu, chat, user_id):
        member_update(emu, chat, user_id, old, actor=emu.bot_id)
    emu.notify()
    return True


@method("createChatInviteLink")
async def create_chat_invite_link(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    if chat.type == "private" or not chat.bot_is_admin:
        raise bad_request("not enough rights to manage chat invite link")
    limit = p.integer("member_limit")
    if limit is not None and not 1 <= limit <= 99999:
        raise bad_request("MEMBER_LIMIT_INVALID")
    link: dict[str, Any] = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": emu.bot_user(),
        "creates_join_request": p.boolean("creates_join_request"),
        "is_primary": False,
        "is_revoked": False,
    }
    for key in ("name", "expire_date", "member_limit"):
        if p.has(key):
            link[key] = p.integer(key) if key != "name" else p.string(key)
    chat.invite_links[link["invite_link"]] = link
    emu.notify()
    return link


@method("revokeChatInviteLink")
async def revoke_chat_invite_link(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    link = chat.invite_links.get(p.string("invite_link", required=True) or "")
    if link is None:
        raise bad_request("INVITE_HASH_EXPIRED")
    link["is_revoked"] = True
    emu.notify()
    return link


@method("leaveChat")
async def leave_chat(emu: Emulator, p: Params) -> bool:
    emu.chat(p.chat_id())
    return True
