"""The Mini App's API served by a bare application (problem middleware + `setup_miniapp`) over
loopback HTTP, on the test database, with the process clock under the test's control."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core import clock as process_clock
from core.http.problems import problem_middleware
from services.events import LiveUpdate, UserChanged
from services.miniapp.auth import sign_init_data
from services.miniapp.push import LiveHub
from services.terminals import secrets as secret_box
from webapp.miniapp import TELEGRAM_SCRIPT, MiniAppConfig, setup_miniapp
from webapp.miniapp.api import CONFIG_KEY

TOKEN = "123456789:MINIAPP-test-token-abcdefghijkl"
OWNER = 1000001
MAX_AGE = timedelta(hours=1)


def init_data(
    telegram_id: int,
    *,
    token: str = TOKEN,
    auth_date: int | None = None,
    first_name: str = "Sam",
    **extra: str,
) -> str:
    """initData as Telegram signs it (auth_date: now by the process clock)."""
    from urllib.parse import urlencode

    when = auth_date if auth_date is not None else int(process_clock.now().timestamp())
    fields = {
        "auth_date": str(when),
        "query_id": "AAH-test",
        "user": json.dumps({"id": telegram_id, "first_name": first_name, "language_code": "en"}),
        **extra,
    }
    fields["hash"] = sign_init_data(fields, token)
    return urlencode(fields)


@dataclass
class Api:
    url: str
    http: aiohttp.ClientSession
    live: LiveHub | None = None  # the app's hub, subscribed to the test's bus

    async def call(
        self, method: str, path: str, *, auth: str | None = None, **kwargs: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}))
        if auth is not None:
            headers["Authorization"] = auth
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as r:
            text = await r.text()
            body = json.loads(text) if text and r.content_type.endswith("json") else text
            return r.status, body, r

    async def login(self, telegram_id: int, **kwargs: Any) -> str:
        status, body, _ = await self.call(
            "POST", "/api/v1/auth/telegram", json={"init_data": init_data(telegram_id, **kwargs)}
        )
        assert status == 200, body
        return f"Bearer {body['token']}"


def make_app() -> web.Application:
    app = web.Application(middlewares=[problem_middleware])
    setup_miniapp(
        app,
        MiniAppConfig(
            bot_token=TOKEN, owners=frozenset({OWNER}), max_age=MAX_AGE,
            script_url=TELEGRAM_SCRIPT,
        ),
    )  # fmt: skip
    return app


@pytest.fixture
async def api(database: str, clock: Any, bus: Any, tmp_path: Any) -> AsyncIterator[Api]:
    secret_box.configure("miniapp-tests-master-key", tmp_path)
    app = make_app()
    live = app[CONFIG_KEY].live  # as the assembly wires it
    stops = [
        bus.subscribe(LiveUpdate, live.deliver),
        bus.subscribe(UserChanged, live.user_changed),
    ]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Api(str(server.make_url("")).rstrip("/"), http, live)
    finally:
        await server.close()
        for stop in stops:
            stop()
