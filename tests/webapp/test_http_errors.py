"""One HTTP error layer: every `AppError` answers its RFC 7807 problem in any route, anything
else a 500 that leaks nothing; bodies over their limit or not JSON answer 413/400.

Served twice: by a bare application with only `problem_middleware` (what a new route gets)
and by the web app the bot serves (`bot.app.create_web_app`), so the assembly's middleware
order is covered too. The EA API answers through the same middleware (its 400/413/422 in tests/ea/test_api.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.http import bodies
from core.http.problems import PROBLEM_TYPE, problem_middleware
from models.devices import CommandStatus
from services.billing.stripe_billing import ProviderFailed
from services.billing.stripe_webhook import BadSignature
from services.errors import (
    AppError,
    InvalidInput,
    NoChange,
    NotFound,
    PermissionDenied,
    UserFacingError,
)
from services.ingest.intake import FieldError, RateLimited
from services.miniapp.auth import REFUSED, Unauthenticated
from services.miniapp.terminals import SettingsInvalid
from services.signals.approvals import SignalNotOpen
from services.signals.consent import DisclaimerOutdated
from services.signals.lifecycle import TransitionRefused
from services.terminals.commands import AckConflict, ForeignCommand, UnknownCommand

LIMIT = 1024
SECRET = "db password is hunter2"


def _signal_not_open() -> SignalNotOpen:
    exc = SignalNotOpen.__new__(SignalNotOpen)  # its constructor wants a whole SignalView
    UserFacingError.__init__(exc, "error.signal_closed", id=7)
    return exc


# (error, status, title, detail): every AppError subclass the services define
CASES: list[tuple[Callable[[], AppError], int, str, str | None]] = [
    (lambda: AppError(SECRET), 500, "Internal Server Error", None),
    (lambda: UserFacingError("error.signal_closed", id=3), 400, "Bad Request",
     "Signal #3 is no longer open for decisions."),
    (lambda: NotFound("error.user_not_found", query="@nobody"), 404, "Not Found",
     "No user found for “@nobody”. Use a Telegram id or @username."),
    (lambda: PermissionDenied("error.signal_closed", id=4), 403, "Forbidden",
     "Signal #4 is no longer open for decisions."),
    (lambda: InvalidInput("error.signal_closed", id=5), 422, "Unprocessable Entity",
     "Signal #5 is no longer open for decisions."),
    (lambda: NoChange("error.signal_closed", id=6), 409, "Conflict",
     "Signal #6 is no longer open for decisions."),
    (lambda: TransitionRefused("error.signal_closed", id=8), 422, "Unprocessable Entity",
     "Signal #8 is no longer open for decisions."),
    (_signal_not_open, 422, "Unprocessable Entity", "Signal #7 is no longer open for decisions."),
    (lambda: DisclaimerOutdated("v2"), 422, "Unprocessable Entity",
     "The risk disclaimer changed meanwhile. Please press Approve again to read the new version."),
    (lambda: UnknownCommand("cmd_1"), 404, "Not Found", "cmd_1"),
    (lambda: ForeignCommand("cmd_2"), 403, "Forbidden", "cmd_2"),
    (lambda: AckConflict("cmd_3", CommandStatus.FILLED, CommandStatus.PLACED), 409, "Conflict",
     "cmd_3: filled cannot become placed"),
    (lambda: Unauthenticated(REFUSED), 401, "Unauthorized",
     "Sign-in failed: open the app again from the bot."),
    (lambda: BadSignature("error.stripe_signature"), 400, "Bad Request",
     "The Stripe-Signature header does not verify (wrong secret, altered body or too old)."),
    (lambda: ProviderFailed("error.stripe_unavailable"), 502, "Bad Gateway",
     "The card payment service did not answer as expected. Nothing was charged or changed; "
     "please try again in a minute."),
    (lambda: SettingsInvalid({"max_lots": InvalidInput("error.signal_closed", id=9)}), 422,
     "Unprocessable Entity", "Signal #9 is no longer open for decisions."),
    (lambda: FieldError("entry", InvalidInput("error.signal_closed", id=5)), 422,
     "Unprocessable Entity", "Signal #5 is no longer open for decisions."),
    (lambda: RateLimited("ingest.error_rate_limited", rate=10), 429, "Too Many Requests",
     "Rate limit reached: at most 10 signals per hour."),
    # a message whose parameters do not match its catalog entry: the entry, unfilled
    (lambda: NotFound("error.user_not_found"), 404, "Not Found",
     "No user found for “{query}”. Use a Telegram id or @username."),
]  # fmt: skip


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_app_error_has_a_case() -> None:
    covered = {type(make()) for make, *_ in CASES}
    assert _subclasses(AppError) | {AppError} <= covered


async def _raise(request: web.Request) -> web.Response:
    make, *_ = CASES[int(request.match_info["n"])]
    raise make()


async def _crash(_request: web.Request) -> web.Response:
    raise RuntimeError(SECRET)


async def _echo(request: web.Request) -> web.Response:
    data = await bodies.read_json_object(request, LIMIT)
    return web.json_response({"keys": sorted(data)})


def _routes(app: web.Application) -> None:
    app.router.add_get("/t/raise/{n}", _raise)
    app.router.add_get("/t/crash", _crash)
    app.router.add_post("/t/echo", _echo)


async def _bare_app() -> web.Application:
    app = web.Application(middlewares=[problem_middleware])
    _routes(app)
    return app


async def _assembled_app() -> web.Application:
    from aiogram import Bot, Dispatcher

    from bot.app import create_web_app
    from core.settings import Settings
    from services.terminals.device_auth import Credentials

    app = create_web_app(Settings(), Bot("123:abc"), Dispatcher(), Credentials())
    _routes(app)
    return app


@pytest.fixture(params=[_bare_app, _assembled_app], ids=["bare", "webapp"])
async def base(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    make: Callable[[], Awaitable[web.Application]] = request.param
    runner = web.AppRunner(await make())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def _problem(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    assert resp.content_type == PROBLEM_TYPE
    body: dict[str, Any] = json.loads(await resp.read())
    assert body["status"] == resp.status and body["type"] == "about:blank"
    return body


@pytest.mark.parametrize("n", range(len(CASES)))
async def test_app_errors_answer_their_problem(base: str, n: int) -> None:
    _make, status, title, detail = CASES[n]
    headers = {"X-Request-Id": f"req-{n}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base}/t/raise/{n}", headers=headers) as resp,
    ):
        assert resp.status == status
        body = await _problem(resp)
    assert body["title"] == title
    assert body.get("detail") == detail
    assert body["instance"] == f"/t/raise/{n}" and body["ref"] == f"req-{n}"
    assert SECRET not in json.dumps(body)


async def test_unexpected_exception_is_a_500_that_leaks_nothing(base: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/t/crash") as resp:
        assert resp.status == 500
        body = await _problem(resp)
    assert body["title"] == "Internal Server Error"
    assert body["ref"] in body["detail"] and len(body["ref"]) >= 8
    text = json.dumps(body)
    assert SECRET not in text and "RuntimeError" not in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("payload", "status", "detail_part"),
    [
        (b'{"a": 1, "b": [2.5]}', 200, None),
        (b"", 400, "empty body"),
        (b'{"a": ', 400, "malformed JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"a": NaN}', 400, "malformed JSON"),
        (b'{"a": "\xff"}', 400, "malformed JSON"),
        (b"[" * 100_000, 413, "at most 1024 bytes"),
        (b'{"a": "' + b"x" * LIMIT + b'"}', 413, "at most 1024 bytes"),
    ],
)
async def test_json_bodies(base: str, payload: bytes, status: int, detail_part: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{base}/t/echo", data=payload) as resp:
        assert resp.status == status
        if status == 200:
            assert await resp.json() == {"keys": ["a", "b"]}
            return
        body = await _problem(resp)
    assert detail_part in body["detail"] and body["instance"] == "/t/echo"


async def test_oversized_chunked_body_is_refused_without_a_length(base: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * 512

    async with aiohttp.ClientSession() as http, http.post(f"{base}/t/echo", data=chunks()) as resp:
        assert resp.status == 413
        assert "at most 1024 bytes" in (await _problem(resp))["detail"]
