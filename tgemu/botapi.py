"""The Bot API endpoint: `/bot{token}/{method}` and `/file/bot{token}/{path}`.

Every call goes through the same pipeline: token check, parameters, artificial latency,
injected faults, the method, statistics. Answers are shaped exactly like Telegram's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from aiohttp import web

# Importing the method modules registers their methods.
from tgemu import api_chats, api_messages, api_payments, api_settings, api_updates
from tgemu.errors import ApiError
from tgemu.params import Params, read_params
from tgemu.registry import METHODS
from tgemu.state import Emulator

logger = logging.getLogger(__name__)
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
_MODULES = (api_chats, api_messages, api_payments, api_settings, api_updates)


async def call_method(emu: Emulator, name: str, values: dict[str, Any]) -> Any:
    """Run one Bot API method; raises ApiError exactly where Telegram would answer ok=false."""
    handler = METHODS.get(name.lower())
    try:
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        emu.stats.methods[name] += 1
        if delay := emu.faults.latency_s(name.lower()):
            await asyncio.sleep(delay)
        fault = emu.faults.take(name.lower(), values.get("chat_id"))
        if fault is not None:
            emu.stats.faults_injected += 1
            raise fault
        return await handler(emu, Params(values))
    except ApiError as exc:
        emu.stats.errors[exc.code] += 1
        raise


def _answer(error: ApiError) -> web.Response:
    return web.json_response(error.payload(), status=error.code)


def _authorized(request: web.Request) -> bool:
    token = request.match_info["token"]
    return secrets.compare_digest(token.encode(), request.app[EMULATOR].token.encode())


async def bot_api(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _answer(ApiError(401, "Unauthorized"))
    emu = request.app[EMULATOR]
    try:
        values = await read_params(request)
        result = await call_method(emu, request.match_info["method"], values)
    except ApiError as exc:
        return _answer(exc)
    return web.json_response({"ok": True, "result": result})


async def download_file(request: web.Request) -> web.StreamResponse:
    if not _authorized(request):
        return _answer(ApiError(401, "Unauthorized"))
    path = request.match_info["path"]
    for file in request.app[EMULATOR].files.values():
        if file.data is not None and file.file_path == path:
            return web.Response(body=file.data, content_type=file.mime_type)
    return _answer(ApiError(404, "Not Found: file not found"))


def add_bot_api_routes(app: web.Application) -> None:
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", download_file)
