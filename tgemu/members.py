"""Chat membership as the Bot API shows it: ChatMember objects and chat_member updates."""

from __future__ import annotations

from typing import Any

from tgemu.models import ChatRec
from tgemu.state import Emulator

_ADMIN_RIGHTS = (
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
        data.update(
            can_be_edited=False,
            is_anonymous=False,
            **{right: True for right in _ADMIN_RIGHTS},
        )
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
) -> int | None:
    """Queue chat_member (or my_chat_member for the bot itself) after a status change."""
    kind = "my_chat_member" if user_id == emu.bot_id else "chat_member"
    payload: dict[str, Any] = {
        "chat": chat.api(),
        "from": _user_api(emu, actor if actor is not None else user_id),
        "date": emu.now(),
        "old_chat_member": member_api(emu, chat, user_id, old),
        "new_chat_member": member_api(emu, chat, user_id),
    }
    if invite_link is not None:
        payload["invite_link"] = invite_link
    return emu.enqueue(kind, payload)
