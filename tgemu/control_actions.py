"""Control API, acting as users: send, press, pay, block; transcripts and callbacks (joins:
`tgemu.control_members`)."""

from __future__ import annotations

from aiohttp import web

from tgemu import actions, user_media
from tgemu.botapi import EMULATOR
from tgemu.control_io import Body, path_int, query_float, query_int
from tgemu.errors import Problem

MAX_WAIT_S = 60.0
MAX_SEQ = 2**53  # what JavaScript (the sandbox page) still counts exactly


async def send(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    chat = actions.chat_of(emu, body.integer("chat_id", user.id) or user.id)
    msg, update_id = actions.send_text(
        emu, user, chat, body.req_str("text"), body.integer("reply_to_message_id")
    )
    return web.json_response(
        {"message": msg.control(emu.files), "update_id": update_id, "seq": emu.seq}
    )


async def send_media(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    chat = actions.chat_of(emu, body.integer("chat_id", user.id) or user.id)
    kind = body.string("kind") or ""
    msg, update_id = user_media.send_media(emu, user, chat, kind, body.string("caption"))
    return web.json_response(
        {"message": msg.control(emu.files), "update_id": update_id, "seq": emu.seq}
    )


async def press(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    chat = actions.chat_of(emu, body.integer("chat_id", user.id) or user.id)
    callback_id, update_id = actions.press(
        emu,
        user,
        chat,
        body.req_int("message_id"),
        body.string("callback_data"),
        body.string("button_text"),
    )
    return web.json_response(
        {"callback_query_id": callback_id, "update_id": update_id, "seq": emu.seq}
    )


async def callback_answer(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    wait = query_float(request, "wait", 0.0, MAX_WAIT_S)
    callback = emu.callbacks.get(request.match_info["callback_id"])
    if callback is None:
        raise Problem(404, "Unknown callback query", request.match_info["callback_id"])
    await emu.wait_until(lambda: callback.answered, wait)
    return web.json_response(callback.control())


async def pay(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    invoice, chat = actions.find_invoice(
        emu, user, body.integer("chat_id"), body.integer("message_id"), body.string("invoice_link")
    )
    timeout = body.number("timeout", actions.PRE_CHECKOUT_TIMEOUT_S) or 0.0
    result = await actions.pay(emu, user, invoice, chat, min(timeout, MAX_WAIT_S))
    return web.json_response({**result, "seq": emu.seq})


async def block(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    user = actions.user_of(emu, body.req_int("user_id"))
    actions.set_blocked(emu, user, body.flag("blocked", True))
    return web.json_response({"user_id": user.id, "blocked": user.id in emu.blocked})


async def transcript(request: web.Request) -> web.Response:
    """Events of a chat after `after_seq`; waits up to `wait` seconds for the first one."""
    emu = request.app[EMULATOR]
    chat_id = path_int(request, "chat_id")
    after = query_int(request, "after_seq", 0, 0, MAX_SEQ) or 0
    wait = query_float(request, "wait", 0.0, MAX_WAIT_S)
    chat = actions.chat_of(emu, chat_id)
    await emu.wait_until(lambda: bool(emu.events_after(chat.id, after)), wait)
    events = emu.events_after(chat.id, after)
    last = events[-1]["seq"] if events else max(after, 0)
    return web.json_response({"chat_id": chat.id, "events": events, "last_seq": last})


def add_action_routes(app: web.Application) -> None:
    app.router.add_post("/_control/send", send)
    app.router.add_post("/_control/send_media", send_media)
    app.router.add_post("/_control/press", press)
    app.router.add_get("/_control/callback/{callback_id}", callback_answer)
    app.router.add_post("/_control/pay", pay)
    app.router.add_post("/_control/block", block)
    app.router.add_get("/_control/chats/{chat_id}/messages", transcript)
