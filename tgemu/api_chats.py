"""Bot API: chat info, members, bans and invite links."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import secrets
from typing import Any

from tgemu.errors import bad_request
from tgemu.members import (
    bot_may,
    link_api,
    member_api,
    member_update,
    remove_member,
    settle_request,
    status,
)
from tgemu.models import ChatRec
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator

MAX_LINK_NAME = 32
MAX_MEMBER_LIMIT = 99999
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
    if not bot_may(chat, "can_restrict_members"):
        raise bad_request("not enough rights to restrict/unrestrict chat member")
    if user_id in chat.admins:
        raise bad_request("user is an administrator of the chat")
    return chat, user_id


@method("banChatMember", "kickChatMember")
async def ban_chat_member(emu: Emulator, p: Params) -> bool:
    chat, user_id = _moderated(emu, p)
    old = status(emu, chat, user_id)
    chat.banned[user_id] = p.integer("until_date") or 0
    remove_member(chat, user_id)
    chat.join_requests.pop(user_id, None)
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
        remove_member(chat, user_id)
    if old != status(emu, chat, user_id):
        member_update(emu, chat, user_id, old, actor=emu.bot_id)
    emu.notify()
    return True


def _inviting(emu: Emulator, p: Params) -> ChatRec:
    chat = emu.chat(p.chat_id())
    if chat.type == "private" or not bot_may(chat, "can_invite_users"):
        raise bad_request("not enough rights to manage chat invite link")
    return chat


def _link_terms(p: Params, link: dict[str, Any]) -> None:
    """name, expire_date, member_limit and creates_join_request as Telegram checks them."""
    name = p.string("name")
    if name is not None and len(name) > MAX_LINK_NAME:
        raise bad_request("invite link name is too long")
    limit = p.integer("member_limit")
    if limit is not None and not 1 <= limit <= MAX_MEMBER_LIMIT:
        raise bad_request("MEMBER_LIMIT_INVALID")
    expire = p.integer("expire_date")
    if expire is not None and expire < 0:
        raise bad_request("EXPIRE_DATE_INVALID")
    joins = p.boolean("creates_join_request")
    if joins and limit:
        raise bad_request(
            "member limit can't be specified for links requiring administrator approval"
        )
    link["creates_join_request"] = joins
    for key, value in (("name", name), ("expire_date", expire or None), ("member_limit", limit)):
        if value is None:
            link.pop(key, None)
        else:
            link[key] = value


@method("createChatInviteLink")
async def create_chat_invite_link(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = _inviting(emu, p)
    link: dict[str, Any] = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": emu.bot_user(),
        "creates_join_request": False,
        "is_primary": False,
        "is_revoked": False,
    }
    _link_terms(p, link)
    chat.invite_links[link["invite_link"]] = link
    emu.notify()
    return link_api(chat, link)


def _own_link(chat: ChatRec, p: Params) -> dict[str, Any]:
    link = chat.invite_links.get(p.string("invite_link", required=True) or "")
    if link is None:
        raise bad_request("INVITE_HASH_EXPIRED")
    return link


@method("editChatInviteLink")
async def edit_chat_invite_link(emu: Emulator, p: Params) -> dict[str, Any]:
    """Telegram replaces every term: what the call omits is cleared (tdlib/telegram-bot-api
    issue 196)."""
    chat = _inviting(emu, p)
    link = _own_link(chat, p)
    if link["is_revoked"]:
        raise bad_request("INVITE_HASH_EXPIRED")
    _link_terms(p, link)
    emu.notify()
    return link_api(chat, link)


@method("revokeChatInviteLink")
async def revoke_chat_invite_link(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = _inviting(emu, p)
    link = _own_link(chat, p)
    link["is_revoked"] = True
    for user_id in [
        u for u, r in chat.join_requests.items() if r["invite_link"] == link["invite_link"]
    ]:
        del chat.join_requests[user_id]  # requests through a revoked link are dismissed
    emu.notify()
    return link_api(chat, link)


def _join_request(emu: Emulator, p: Params) -> tuple[ChatRec, int]:
    chat = emu.chat(p.chat_id())
    user_id = p.integer("user_id", required=True) or 0
    if chat.type == "private" or not bot_may(chat, "can_invite_users"):
        raise bad_request("CHAT_ADMIN_REQUIRED")
    if user_id in chat.members:
        raise bad_request("USER_ALREADY_PARTICIPANT")
    if user_id not in chat.join_requests:
        raise bad_request("HIDE_REQUESTER_MISSING")
    return chat, user_id


@method("approveChatJoinRequest")
async def approve_chat_join_request(emu: Emulator, p: Params) -> bool:
    chat, user_id = _join_request(emu, p)
    settle_request(emu, chat, user_id, approve=True)
    return True


@method("declineChatJoinRequest")
async def decline_chat_join_request(emu: Emulator, p: Params) -> bool:
    chat, user_id = _join_request(emu, p)
    settle_request(emu, chat, user_id, approve=False)
    return True


@method("leaveChat")
async def leave_chat(emu: Emulator, p: Params) -> bool:
    emu.chat(p.chat_id())
    return True
