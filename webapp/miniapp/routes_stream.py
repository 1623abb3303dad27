"""`GET /api/v1/stream`: the page's live updates as server-sent events.

Each event is `event: live` with `data: {"kind": ..., "key": ...}` (see `services.miniapp.push`);
the page fetches what changed through the other routes. Comments keep the connection alive; the
stream ends after `STREAM_MAX_S` (the page reconnects, signing in again when its session has
expired) and at once when the user loses access (banned, deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from services.errors import PermissionDenied
from services.miniapp import auth, views
from services.miniapp.push import RESYNC, Message
from webapp.miniapp.api import CONFIG_KEY, Api, Call, Raw

HEARTBEAT_S = 15.0
STREAM_MAX_S = 600.0
RETRY_MS = 2000

api = Api()

STREAM = Raw(
    "text/event-stream",
    'Server-sent events: `event: live` with `data: {"kind", "key"}` (kind: signal, decision, '
    "terminal, positions, access, alert or resync)",
)


def frame(message: Message) -> bytes:
    data = json.dumps({"kind": message.kind, "key": message.key}, separators=(",", ":"))
    return f"event: live\ndata: {data}\n\n".encode()


async def _still_allowed(telegram_id: int, callers: views.Callers) -> bool:
    try:
        await views.current_user(telegram_id, callers)
    except (auth.Unauthenticated, PermissionDenied):
        return False
    return True


@api.get("/stream", response=STREAM, summary="Live updates for the open page (server-sent events)")
async def stream(call: Call) -> web.StreamResponse:
    request, user = call.request, call.me
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold events back
        }
    )
    subscription = request.app[CONFIG_KEY].live.open(user.telegram_id)
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_MAX_S
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n: open\n\n".encode())
        while (left := ends - loop.time()) > 0:
            message = await subscription.next(min(HEARTBEAT_S, left))
            if message is None:
                await response.write(b": ping\n\n")
                continue
            await response.write(frame(message))
            if message.kind in ("access", RESYNC) and not await _still_allowed(
                user.telegram_id, request.app[CONFIG_KEY].callers
            ):
                break
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        subscription.close()
    with contextlib.suppress(ConnectionResetError, ConnectionError):
        await response.write_eof()
    return response
