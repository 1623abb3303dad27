"""Control API plumbing: JSON bodies with typed fields, RFC 7807 problems, the guard."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from httpguard import client_gone
from tgemu.errors import ApiError, Problem
from tgemu.guard import check_control, check_host_and_origin

logger = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"
# Plain ASCII digits only: int() and float() also take "1_000", " 5", "１" and "1e3".
_INT = re.compile(r"-?[0-9]{1,18}")
_NUMBER = re.compile(r"[0-9]{1,18}(?:\.[0-9]*)?|\.[0-9]+")


def problem_response(problem: Problem, instance: str = "") -> web.Response:
    return web.json_response(
        problem.body(instance), status=problem.status, content_type=PROBLEM_TYPE
    )


def _kind(request: web.Request) -> str:
    if "/_control/" in request.path:
        return "control"
    return "static" if "/_static/" in request.path else "botapi"


def _is_loopback(remote: str | None) -> bool:
    try:
        return ipaddress.ip_address(remote or "").is_loopback
    except ValueError:
        return False


def _admit(request: web.Request, kind: str, *, loopback_only: bool, control_token: str) -> None:
    """Raise a `Problem` unless the request may reach the emulator (see `tgemu.guard`)."""
    if loopback_only:
        if not _is_loopback(request.remote):
            raise Problem(403, "Forbidden", "the emulator answers loopback clients only")
        check_host_and_origin(request)
    if kind == "control":
        check_control(request, control_token)


def make_middleware(
    *, loopback_only: bool, control_token: str, everything_control: bool = False
) -> Any:
    """The emulator's guard (see `tgemu.guard`) and its error rendering: RFC 7807
    problems on control and static routes, Telegram's `{"ok": false}` on the Bot API.
    `everything_control`: every route is a control route (an app serving only those)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        kind = "control" if everything_control else _kind(request)
        control = kind != "botapi"
        try:
            _admit(request, kind, loopback_only=loopback_only, control_token=control_token)
            return await handler(request)
        except Problem as problem:
            if not control:
                error = ApiError(problem.status, problem.detail or problem.title)
                return web.json_response(error.payload(), status=problem.status)
            return problem_response(problem, request.path)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            if control:
                return problem_response(
                    Problem(exc.status, exc.reason, exc.text or ""), request.path
                )
            body = {"ok": False, "error_code": exc.status, "description": exc.reason}
            return web.json_response(body, status=exc.status)
        except Exception as exc:
            if client_gone(request, exc):  # reset or broken body: the client's doing
                logger.warning("request body incomplete on %s", request.path)
                return problem_response(Problem(400, "Bad Request", "incomplete request body"))
            logger.exception("emulator bug on %s", request.path)
            if control:
                return problem_response(Problem(500, "Internal error", "see the server log"))
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return web.json_response(body, status=500)

    return guard


class Body:
    """A control API JSON object with typed accessors that raise 400/422 problems."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def read(cls, request: web.Request) -> Body:
        if not request.can_read_body:
            return cls({})
        try:
            data = json.loads(await request.text())
        except ValueError:
            raise Problem(400, "Malformed JSON", "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Problem(400, "Malformed JSON", "the request body must be a JSON object")
        return cls(data)

    def _invalid(self, name: str, expected: str) -> Problem:
        return Problem(422, "Invalid field", f"'{name}' must be {expected}")

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise Problem(422, "Missing field", f"'{name}' is required")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._invalid(name, "an integer")
        return value

    def req_int(self, name: str) -> int:
        self._get(name, True)
        return self.integer(name) or 0

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._invalid(name, "a string")
        return value

    def req_str(self, name: str) -> str:
        self._get(name, True)
        return self.string(name) or ""

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self._invalid(name, "true or false")
        return value

    def number(self, name: str, default: float | None = None, minimum: float = 0) -> float | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self._invalid(name, f"a number >= {minimum}")
        return float(value)


def query_float(request: web.Request, name: str, default: float, maximum: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _NUMBER.fullmatch(raw):
        raise Problem(400, "Invalid query parameter", f"'{name}' must be a number")
    value = float(raw)
    if not 0 <= value <= maximum:
        raise Problem(400, "Invalid query parameter", f"'{name}' must be in [0, {maximum}]")
    return value


def query_int(
    request: web.Request, name: str, default: int | None, minimum: int, maximum: int
) -> int | None:
    """An optional integer query parameter in [minimum, maximum]; anything else is a 400."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise Problem(400, "Invalid query parameter", f"'{name}' must be an integer")
    value = int(raw)
    if not minimum <= value <= maximum:
        detail = f"'{name}' must be in [{minimum}, {maximum}]"
        raise Problem(400, "Invalid query parameter", detail)
    return value


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not _INT.fullmatch(raw):
        raise Problem(400, "Invalid path parameter", f"'{name}' must be an integer")
    return int(raw)
