"""RFC 7807 problem details for every error on JSON routes; never a bare 500 page.

Any exception that carries its own problem (`ProblemSource`: the services' `AppError` family
does, by duck typing, since `core` imports no app package) answers its status, title and
detail; a `ProblemError` raised by a route answers what it says; anything else is a 500 whose
detail names only the correlation id (the traceback goes to the log, never to the client).
Every problem from this middleware carries ``instance`` (the request path) and ``ref`` (the
correlation id, also in every log line of the request).

A request body the client broke (reset the connection mid-body, closed it early, sent a
malformed chunked body) is the client's doing: one warning and a 400, not an ERROR traceback
and a 500 (`httpguard.client_gone`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from core import metrics
from core.logs import correlation_id, new_correlation_id
from httpguard import client_gone

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"
# A caller's X-Request-Id goes into every log line: printable ASCII of the usual shapes only
# (aiohttp decodes header bytes with surrogateescape, which no log encoder can write).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    metrics.HTTP_ERRORS.labels(str(status)).inc()
    return web.json_response(body, status=status, content_type=PROBLEM_TYPE)


class ProblemError(Exception):
    """Raise from a handler to answer a problem document with `status`."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(title)
        self.problem = (status, title, detail, extra)


@runtime_checkable
class ProblemSource(Protocol):
    """An exception that knows the problem document it answers over HTTP."""

    @property
    def problem_status(self) -> int: ...

    @property
    def problem_title(self) -> str: ...

    def problem_detail(self) -> str | None:
        """Text safe to show the client (English), or None to show none."""


Problem = tuple[int, str, str | None, dict[str, Any]]  # status, title, detail, extra members


def _unexpected(request: web.Request, exc: Exception, cid: str) -> Problem:
    if client_gone(request, exc):
        log.warning(
            "request body incomplete: the client went away or sent a broken body",
            extra={"path": request.path, "error": f"{type(exc).__name__}: {exc}"[:200]},
        )
        return 400, "Bad Request", "the request body is incomplete or malformed", {}
    metrics.ERRORS.labels("http").inc()
    log.exception("unhandled error in HTTP handler", extra={"path": request.path})
    return 500, "Internal Server Error", "unexpected error; reference " + cid, {}


def _from_source(request: web.Request, exc: ProblemSource) -> Problem:
    status = exc.problem_status
    if status >= 500:  # an error raised on purpose is still a server error: logged
        metrics.ERRORS.labels("http").inc()
        log.error(
            "application error in HTTP handler",
            exc_info=exc if isinstance(exc, BaseException) else None,
            extra={"path": request.path},
        )
    try:
        detail = exc.problem_detail()
    except Exception:  # a message and its parameters disagree: never a second error
        log.warning("problem detail failed", exc_info=True, extra={"path": request.path})
        detail = None
    return status, exc.problem_title, detail, {}


async def _answer(request: web.Request, handler: Handler, cid: str) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as exc:
        status, title, detail, extra = exc.problem
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, title = exc.status, exc.reason
        detail, extra = (exc.text if exc.text != exc.reason else None), {}
    except Exception as exc:
        found = _from_source(request, exc) if isinstance(exc, ProblemSource) else None
        status, title, detail, extra = found or _unexpected(request, exc, cid)
    extra = {"instance": request.path, "ref": cid, **extra}
    return problem(status, title, detail, **extra)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-Id", "")
    cid = given if REQUEST_ID_RE.fullmatch(given) else new_correlation_id()
    token = correlation_id.set(cid)
    try:
        return await _answer(request, handler, cid)
    finally:
        correlation_id.reset(token)
