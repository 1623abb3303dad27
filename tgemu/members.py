"""Chat membership as the Bot API shows it: ChatMember objects, chat_member and
chat_join_request updates, and what users do with invite links (join, request, leave).

Telegram's rules kept here: `chat_member` reaches the bot only when it is an administrator of
the chat and asked for it in `allowed_updates` (it is not in the default set: `Emulator.enqueue`);
`chat_join_request` only when it may invite users. A link's `member_limit` counts the users who
joined through it and are still members (the Bot API: "maximum number of users that can be
members of the chat simultaneously after joining the chat via this invite link").
"""

from __future__ import annotations

from typing import Any

from tgemu.errors import Problem
from tgemu.models import ChatRec, UserRec
from tgemu.state import Emulator

ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_send_welcome_messages",
)


def _user_api(emu: Emulator, user_id: int) -> dict[str, Any]:
    if user_id == emu.bot_id:
        return emu.bot_user()
    user = emu.users.get(user_id)
    return user.api() if user else {"id": user_id, "is_bot": False, "first_name": str(user_id)}


def bot_rights(chat: ChatRec) -> dict[str, bool]:
    """The bot's administrator rights in `chat` (all False when it is not an administrator)."""
    if not chat.bot_is_admin or chat.type == "private":
        return dict.fromkeys(ADMIN_RIGHTS, False)
    given = chat.bot_rights or {}
    return {right: given.get(right, chat.bot_rights is None) for right in ADMIN_RIGHTS}


def bot_may(chat: ChatRec, right: str) -> bool:
    return bot_rights(chat)[right]


def status(emu: Emulator, chat: ChatRec, user_id: int) -> str:
    if user_id in chat.banned:
        return "kicked"
    if user_id == emu.bot_id:
        if chat.type == "private":
            return "kicked" if chat.id in emu.blocked else "member"
        return "administrator" if chat.bot_is_admin else "member"
    if user_id in chat.admins and chat.type != "private":
        return "administrator"
    return "member" if user_id in chat.members else "left"


def member_api(emu: Emulator, chat: ChatRec, user_id: int, state: str = "") -> dict[str, Any]:
    """A ChatMember object for `user_id` (in its current state unless `state` is given)."""
    state = state or status(emu, chat, user_id)
    data: dict[str, Any] = {"status": state, "user": _user_api(emu, user_id)}
    if state == "administrator":
        rights = bot_rights(chat) if user_id == emu.bot_id else dict.fromkeys(ADMIN_RIGHTS, True)
        data.update(can_be_edited=False, is_anonymous=False, **rights)
    elif state == "kicked":
        data["until_date"] = chat.banned.get(user_id, 0)
    return data


def member_update(
    emu: Emulator,
    chat: ChatRec,
    user_id: int,
    old: str,
    *,
    actor: int | None = None,
    invite_link: dict[str, Any] | None = None,
    via_join_request: bool = False,
) -> int | None:
    """Queue chat_member (or my_chat_member for the bot itself) after a status change."""
    kind = "my_chat_member" if user_id == emu.bot_id else "chat_member"
    if kind == "chat_member" and not chat.bot_is_admin:
        emu.stats.updates_dropped += 1  # Telegram tells administrators only
        return None
    payload: dict[str, Any] = {
        "chat": chat.api(),
        "from": _user_api(emu, actor if actor is not None else user_id),
        "date": emu.now(),
        "old_chat_member": member_api(emu, chat, user_id, old),
        "new_chat_member": member_api(emu, chat, user_id),
    }
    if invite_link is not None:
        payload["invite_link"] = link_api(chat, invite_link)
    if via_join_request:
        payload["via_join_request"] = True
    return emu.enqueue(kind, payload)


def link_api(chat: ChatRec, link: dict[str, Any]) -> dict[str, Any]:
    """A ChatInviteLink object (with its pending requests when it creates them)."""
    data = dict(link)
    if link.get("creates_join_request"):
        pending = sum(
            1 for r in chat.join_requests.values() if r["invite_link"] == link["invite_link"]
        )
        data["pending_join_request_count"] = pending
    return data


def remove_member(chat: ChatRec, user_id: int) -> None:
    """The user is no longer a member (left, banned or removed): their link seat frees."""
    chat.members.discard(user_id)
    chat.joined_via.pop(user_id, None)


def _live_link(emu: Emulator, chat: ChatRec, link: str) -> dict[str, Any]:
    invite = chat.invite_links.get(link)
    if invite is None or invite["is_revoked"]:
        detail = f"{link} is not a live link of chat {chat.id}"
        raise Problem(404, "Unknown invite link", detail)
    if invite.get("expire_date") and invite["expire_date"] <= emu.now():
        raise Problem(410, "Invite link expired", link)
    limit = invite.get("member_limit")
    if limit and sum(1 for used in chat.joined_via.values() if used == link) >= limit:
        raise Problem(409, "Invite link used up", f"{link} admits {limit} member(s)")
    return invite


def join(
    emu: Emulator, user: UserRec, chat: ChatRec, link: str | None
) -> tuple[str, dict[str, Any] | None]:
    """The user opens `link` (or joins a public chat): ("joined" | "requested", the link).

    A link that creates join requests queues `chat_join_request` and waits for an
    administrator (approveChatJoinRequest / declineChatJoinRequest)."""
    if not chat.is_group:
        raise Problem(422, "Not a group", f"chat {chat.id} is a private chat")
    if user.id in chat.banned:
        raise Problem(403, "Banned", f"user {user.id} is banned from chat {chat.id}")
    if user.id in chat.members:
        raise Problem(409, "Already a member", f"user {user.id} is in chat {chat.id}")
    invite = _live_link(emu, chat, link) if link is not None else None
    if invite is None and chat.username is None:
        raise Problem(403, "Private chat", f"chat {chat.id} is joined through an invite link")
    if invite is not None and invite.get("creates_join_request"):
        _request(emu, user, chat, invite)
        return "requested", link_api(chat, invite)
    old = status(emu, chat, user.id)
    chat.members.add(user.id)
    if invite is not None:
        chat.joined_via[user.id] = invite["invite_link"]
    member_update(emu, chat, user.id, old, invite_link=invite)
    emu.notify()
    return "joined", link_api(chat, invite) if invite is not None else None


def _request(emu: Emulator, user: UserRec, chat: ChatRec, invite: dict[str, Any]) -> None:
    if user.id in chat.join_requests:
        raise Problem(409, "Request pending", f"user {user.id} already asked to join {chat.id}")
    chat.join_requests[user.id] = {"invite_link": invite["invite_link"], "date": emu.now()}
    if bot_may(chat, "can_invite_users"):
        payload = {
            "chat": chat.api(),
            "from": user.api(),
            "user_chat_id": user.id,
            "date": emu.now(),
            "invite_link": link_api(chat, invite),
        }
        emu.enqueue("chat_join_request", payload)
    emu.notify()


def settle_request(emu: Emulator, chat: ChatRec, user_id: int, *, approve: bool) -> None:
    """An administrator (the bot) approves or declines the user's pending request."""
    request = chat.join_requests.pop(user_id)
    if approve:
        old = status(emu, chat, user_id)
        chat.members.add(user_id)
        chat.joined_via[user_id] = request["invite_link"]
        invite = chat.invite_links.get(request["invite_link"])
        member_update(
            emu, chat, user_id, old, actor=emu.bot_id, invite_link=invite, via_join_request=True
        )
    emu.notify()


def leave(emu: Emulator, user: UserRec, chat: ChatRec) -> None:
    if user.id not in chat.members or user.id in chat.admins:
        raise Problem(409, "Not a member", f"user {user.id} is not a member of chat {chat.id}")
    old = status(emu, chat, user.id)
    remove_member(chat, user.id)
    member_update(emu, chat, user.id, old)
    emu.notify()
