"""The application side of the guard: body deadlines, and telling the connection where it is.

`read_bounds(limits)` is an aiohttp middleware (put it first). For each request it tells the
`GuardedConnection` (if the server runs behind one: `httpguard.site.GuardedSite`) that the
headers are in and, when the handler is done, whether the body was complete. A request whose
body is not complete within `body_timeout_s` of its headers has its handler cancelled and is
answered 408 with ``Connection: close``: whether the handler was reading the body or not, a
slow body holds nothing longer than that (the handler cannot have done anything with a body
it has not got).

`client_gone(request, exc)` tells the error handlers apart a broken request body (the client
reset the connection, closed it early, or sent a malformed chunked body) from a server
failure: the former is a one-line warning and a 400, never an ERROR traceback or a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from httpguard.connection import EventSink, GuardedConnection
from httpguard.limits import ReadLimits

log = logging.getLogger("httpguard")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SEEN = web.RequestKey("httpguard_seen", bool)  # a sub-app's own copy steps aside


def connection_of(request: web.Request) -> GuardedConnection | None:
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    return protocol if isinstance(protocol, GuardedConnection) else None


def client_gone(request: web.Request, exc: BaseException) -> bool:
    """True if `exc` is the client's doing: a malformed or incomplete body, or a connection
    error while the client's connection is gone (a database refusing a connection is also a
    ConnectionError, so the connection's state decides)."""
    if isinstance(exc, web.RequestPayloadError):
        return True
    if isinstance(exc, ConnectionError):
        transport = request.transport
        return transport is None or transport.is_closing()
    return False


def problem_response(status: int, title: str, detail: str) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    response = web.Response(
        text=json.dumps(body), status=status, content_type="application/problem+json"
    )
    response.force_close()
    return response


def read_bounds(limits: ReadLimits, on_event: EventSink | None = None) -> Any:
    """The middleware (see the module docstring)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.get(_SEEN):
            return await handler(request)
        request[_SEEN] = True
        conn = connection_of(request)
        if conn is not None:
            conn.request_started(request.content)
        try:
            return await _with_body_deadline(request, handler, limits, on_event)
        finally:
            if conn is not None:
                conn.request_finished(body_complete=request.content.is_eof())

    return middleware


async def _with_body_deadline(
    request: web.Request, handler: Handler, limits: ReadLimits, on_event: EventSink | None
) -> web.StreamResponse:
    content = request.content
    if not request.body_exists or content.is_eof():
        return await handler(request)
    task = asyncio.current_task()
    assert task is not None  # noqa: S101 - aiohttp runs every handler in a task
    expired = False

    def expire() -> None:
        nonlocal expired
        if not content.is_eof():
            expired = True
            task.cancel()

    timer = asyncio.get_running_loop().call_later(limits.body_timeout_s, expire)
    try:
        response = await handler(request)
    except asyncio.CancelledError:
        if not expired or task.uncancel() > 0:
            raise  # not (only) ours: the server is stopping, or the client went away
        if on_event is not None:
            on_event("body_timeout")
        log.warning("request body too slow: 408", extra={"path": request.path})
        detail = f"the request body did not arrive within {limits.body_timeout_s:g} s"
        return problem_response(408, "Request Timeout", detail)
    except Exception:
        if expired:
            task.uncancel()  # the handler turned our cancellation into something else
        raise
    finally:
        timer.cancel()
    if expired:
        task.uncancel()  # the handler swallowed our cancellation: keep the count true
    return response
