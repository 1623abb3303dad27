"""Control API, administering the emulator: users, chats, limits, faults, stats, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from tgemu import actions
from tgemu.api_settings import resolve_commands
from tgemu.botapi import EMULATOR
from tgemu.control_actions import MAX_WAIT_S, add_action_routes
from tgemu.control_io import Body, path_int, query_float, query_int
from tgemu.control_members import add_member_routes
from tgemu.control_stars import add_stars_routes
from tgemu.errors import Problem
from tgemu.limits import Fault
from tgemu.webapp import add_webapp_routes

STATIC_DIR = Path(__file__).with_name("static")
CHAT_TYPES = ("group", "supergroup", "channel")
FAULT_CODES = (400, 401, 403, 404, 409, 429, 500, 502)


async def bot_info(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    hook = {k: v for k, v in emu.webhook.items() if k != "secret_token"}
    return web.json_response(
        {
            "bot": emu.bot_user(),
            "webhook": hook,
            "pending_updates": len(emu.updates),
            "menu_button": emu.menu_buttons.get(None, {"type": "commands"}),
        }
    )


async def list_users(request: web.Request) -> web.Response:
    """Users; `after_version` + `wait` long-poll until they change (labels follow roles)."""
    emu = request.app[EMULATOR]
    after = query_int(request, "after_version", -1, 0, 2**53)
    wait = query_float(request, "wait", 0, MAX_WAIT_S)
    await emu.wait_until(lambda: emu.users_version > (after if after is not None else -1), wait)
    users = [u.control() | {"blocked": u.id in emu.blocked} for u in emu.users.values()]
    return web.json_response({"users": users, "version": emu.users_version})


async def add_user(request: web.Request) -> web.Response:
    body = await Body.read(request)
    user_id = body.req_int("id")
    if user_id <= 0:
        raise Problem(422, "Invalid field", "'id' must be a positive integer")
    fields: dict[str, Any] = {"started": body.flag("started", True)}
    for key in ("last_name", "username", "language_code", "label"):
        fields[key] = body.string(key)
    fields["language_code"] = fields["language_code"] or "en"
    user = request.app[EMULATOR].add_user(user_id, body.req_str("first_name"), **fields)
    return web.json_response(user.control(), status=201)


async def list_chats(request: web.Request) -> web.Response:
    return web.json_response(
        {"chats": [c.control() for c in request.app[EMULATOR].chats.values()]}
    )


async def add_chat(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    body = await Body.read(request)
    chat_id, chat_type = body.req_int("id"), body.req_str("type")
    if chat_id >= 0 or chat_type not in CHAT_TYPES:
        detail = f"group chats need a negative 'id' and a 'type' in {CHAT_TYPES}"
        raise Problem(422, "Invalid chat", detail + " (private chats come with their users)")
    members = _user_ids(emu, body.data.get("members", []), "members")
    admins = _user_ids(emu, body.data.get("admins", []), "admins")
    chat = emu.add_chat(
        chat_id,
        chat_type,
        body.req_str("title"),
        username=body.string("username"),
        members=set(members) | set(admins),
        admins=set(admins),
        bot_is_admin=body.flag("bot_is_admin", True),
    )
    return web.json_response(chat.control(), status=201)


def _user_ids(emu: Any, raw: Any, name: str) -> list[int]:
    if not isinstance(raw, list) or not all(isinstance(i, int) for i in raw):
        raise Problem(422, "Invalid field", f"'{name}' must be a list of user ids")
    for user_id in raw:
        actions.user_of(emu, user_id)
    return list(raw)


async def chat_commands(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    chat_id = path_int(request, "chat_id")
    user_id = query_int(request, "user_id", None, 1, 2**53)
    chat = actions.chat_of(emu, chat_id)
    user = emu.users.get(user_id or chat.id)
    language = request.query.get("language_code") or (user.language_code if user else None)
    commands = resolve_commands(emu, chat.id, user.id if user else None, language)
    return web.json_response({"chat_id": chat.id, "commands": commands})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[EMULATOR].stats.control())


async def limits(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    if request.method == "POST":
        body = await Body.read(request)
        changes: dict[str, Any] = {"enabled": body.flag("enabled", True)}
        for key in ("global_per_s", "per_chat_per_s", "per_group_per_min", "burst"):
            value = body.number(key, minimum=0.000001)
            if value is not None:
                changes[key] = int(value) if key == "burst" else value
        emu.limits.configure(**changes)
    return web.json_response(vars(emu.limits.config))


async def faults(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    if request.method == "DELETE":
        emu.faults.faults.clear()
        emu.faults.latency_ms = 0
    elif request.method == "POST":
        _add_fault(emu, await Body.read(request))
    return web.json_response(
        {
            "faults": [f.control() for f in emu.faults.faults if f.times != 0],
            "latency_ms": emu.faults.latency_ms,
        }
    )


def _add_fault(emu: Any, body: Body) -> None:
    if "latency_ms" in body.data:
        emu.faults.latency_ms = int(body.number("latency_ms") or 0)
        emu.faults.latency_methods = {m.lower() for m in body.data.get("methods") or []}
    if "method" not in body.data:
        return
    code = body.req_int("error_code")
    if code not in FAULT_CODES:
        raise Problem(422, "Invalid field", f"'error_code' must be one of {FAULT_CODES}")
    chat_id = body.data.get("chat_id")
    if chat_id is not None and not isinstance(chat_id, int | str):
        raise Problem(422, "Invalid field", "'chat_id' must be an integer or @username")
    fault = Fault(
        method=body.req_str("method").lower(),
        error_code=code,
        times=body.integer("times", 1) or 0,
        chat_id=chat_id,
        retry_after=body.integer("retry_after"),
        description=body.string("description"),
    )
    if fault.retry_after is not None and fault.retry_after < 1:
        raise Problem(422, "Invalid field", "'retry_after' must be >= 1")
    emu.faults.faults.append(fault)


async def webhook_status(request: web.Request) -> web.Response:
    """Webhook delivery log; `min_attempts` + `wait` long-poll until that many attempts."""
    emu = request.app[EMULATOR]
    wanted = query_int(request, "min_attempts", 0, 0, 10_000) or 0
    await emu.wait_until(
        lambda: len(emu.webhook_log) >= wanted, query_float(request, "wait", 0, MAX_WAIT_S)
    )
    hook = {k: v for k, v in emu.webhook.items() if k != "secret_token"}
    return web.json_response(
        {"webhook": hook, "pending": len(emu.updates), "attempts": emu.webhook_log}
    )


async def reset(request: web.Request) -> web.Response:
    body = await Body.read(request)
    request.app[EMULATOR].reset(users=body.flag("users", False))
    return web.json_response({"ok": True})


async def payments(request: web.Request) -> web.Response:
    emu = request.app[EMULATOR]
    return web.json_response({"payments": [p.control() for p in emu.payments.values()]})


async def file_content(request: web.Request) -> web.StreamResponse:
    file = request.app[EMULATOR].files.get(request.match_info["file_id"])
    if file is None:
        raise Problem(404, "Unknown file", request.match_info["file_id"])
    if file.data is None:
        raise web.HTTPFound(file.url or "/")
    headers = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    if file.kind == "document":  # downloaded, never rendered in the sandbox page's origin
        headers["Content-Disposition"] = f'attachment; filename="{file.file_name or "file"}"'
    return web.Response(body=file.data, content_type=file.mime_type, headers=headers)


def add_control_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_control/bot", bot_info)
    router.add_get("/_control/users", list_users)
    router.add_post("/_control/users", add_user)
    router.add_get("/_control/chats", list_chats)
    router.add_post("/_control/chats", add_chat)
    router.add_get("/_control/chats/{chat_id}/commands", chat_commands)
    router.add_get("/_control/stats", stats)
    router.add_route("GET", "/_control/limits", limits)
    router.add_route("POST", "/_control/limits", limits)
    for verb in ("GET", "POST", "DELETE"):
        router.add_route(verb, "/_control/faults", faults)
    router.add_get("/_control/webhook", webhook_status)
    router.add_post("/_control/reset", reset)
    router.add_get("/_control/payments", payments)
    router.add_get("/_control/files/{file_id}", file_content)
    add_action_routes(app)
    add_member_routes(app)
    add_stars_routes(app)
    add_webapp_routes(app)
    router.add_static("/_static/", STATIC_DIR)
