"""RFC 7807 problem details for every error on JSON routes; never a bare 500 page.

A request body the client broke (reset the connection mid-body, closed it early, sent a
malformed chunked body) is the client's doing: one warning and a 400, not an ERROR traceback
and a 500 (`httpguard.client_gone`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

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


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-Id", "")
    cid = given if REQUEST_ID_RE.fullmatch(given) else new_correlation_id()
    token = correlation_id.set(cid)
    try:
        return await handler(request)
    except ProblemError as exc:
        status, title, detail, extra = exc.problem
        return problem(status, title, detail, **extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.reason, exc.text if exc.text != exc.reason else None)
    except Exception as exc:
        if client_gone(request, exc):
            log.warning(
                "request body incomplete: the client went away or sent a broken body",
                extra={"path": request.path, "error": f"{type(exc).__name__}: {exc}"[:200]},
            )
            return problem(400, "Bad Request", "the request body is incomplete or malformed")
        metrics.ERRORS.labels("http").inc()
        log.exception("unhandled error in HTTP handler", extra={"path": request.path})
        return problem(500, "Internal Server Error", "unexpected error; reference " + cid, ref=cid)
    finally:
        correlation_id.reset(token)
