"""Control API, chat membership: users join through invite links (or ask to), leave; the
bot's administrator rights in a chat; the chat's links and pending join requests."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tgemu import actions, members
from tgemu.botapi import EMULATOR
from tgemu.control_io import Body, path_int
from tgemu.errors import Problem
from tgemu.models import ChatRec


async def join(request: web.Request) -> web.Response:
    """{user_id, invite_link | chat_id}: {status: joined | requested, chat, invite_link}."""
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    link = body.string("invite_link")
    chat_id = body.integer("chat_id")
    if chat_id is None and link is not None:
        chat_id = next((c.id for c in emu.chats.values() if link in c.invite_links), None)
        if chat_id is None:
            raise Problem(404, "Unknown invite link", f"{link} was not created by the bot")
    if chat_id is None:
        raise Problem(422, "Missing field", "give 'chat_id' or a live 'invite_link'")
    chat = actions.chat_of(emu, chat_id)
    outcome, invite = members.join(emu, user, chat, link)
    return web.json_response({"status": outcome, "chat": chat.control(), "invite_link": invite})


async def leave(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    chat = actions.chat_of(emu, body.req_int("chat_id"))
    members.leave(emu, user, chat)
    return web.json_response({"chat": chat.control()})


async def bot_rights(request: web.Request) -> web.Response:
    """POST {bot_is_admin?, rights?: {can_invite_users: false, ...}}: the bot's standing."""
    emu = request.app[EMULATOR]
    chat = actions.chat_of(emu, path_int(request, "chat_id"))
    if request.method == "POST":
        body = await Body.read(request)
        chat.bot_is_admin = body.flag("bot_is_admin", chat.bot_is_admin)
        rights = body.data.get("rights")
        if rights is not None:
            chat.bot_rights = _rights(rights)
        emu.notify()
    return web.json_response({"bot_is_admin": chat.bot_is_admin, **members.bot_rights(chat)})


def _rights(raw: Any) -> dict[str, bool]:
    if not isinstance(raw, dict) or not all(isinstance(v, bool) for v in raw.values()):
        raise Problem(422, "Invalid field", "'rights' must map right names to booleans")
    unknown = sorted(set(raw) - set(members.ADMIN_RIGHTS))
    if unknown:
        raise Problem(422, "Invalid field", f"unknown rights {unknown}")
    return {right: bool(raw.get(right, True)) for right in members.ADMIN_RIGHTS}


def _links(chat: ChatRec) -> list[dict[str, Any]]:
    out = []
    for link in chat.invite_links.values():
        joined = sorted(u for u, used in chat.joined_via.items() if used == link["invite_link"])
        out.append({**members.link_api(chat, link), "members_joined": joined})
    return out


async def invites(request: web.Request) -> web.Response:
    """The chat (members, bans), its invite links (with who joined through each) and its
    pending join requests."""
    emu = request.app[EMULATOR]
    chat = actions.chat_of(emu, path_int(request, "chat_id"))
    requests = [{"user_id": u, **r} for u, r in sorted(chat.join_requests.items())]
    return web.json_response(
        {
            "chat_id": chat.id,
            "chat": chat.control(),
            "invite_links": _links(chat),
            "join_requests": requests,
        }
    )


def add_member_routes(app: web.Application) -> None:
    app.router.add_post("/_control/join", join)
    app.router.add_post("/_control/leave", leave)
    app.router.add_get("/_control/chats/{chat_id}/bot_rights", bot_rights)
    app.router.add_post("/_control/chats/{chat_id}/bot_rights", bot_rights)
    app.router.add_get("/_control/chats/{chat_id}/invites", invites)
