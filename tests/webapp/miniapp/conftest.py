"""The Mini App's API served by a bare application (problem middleware + `setup_miniapp`) over
loopback HTTP, on the test database, with the process clock under the test's control."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core import clock as process_clock
from core.db_changes import probe_for
from core.http.problems import problem_middleware
from services.billing.checkout import Checkout
from services.events import LiveUpdate, UserChanged
from services.miniapp import views
from services.miniapp.auth import sign_init_data
from services.miniapp.plan import PlanBilling
from services.miniapp.push import LiveHub
from services.terminals import secrets as secret_box
from services.users.cache import UserCache
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


CHECKOUT = Checkout(b"k" * 32, Decimal("0.013"))


@dataclass
class FakeTelegram:
    """The Plan page's Telegram side: records the invoice links made and the subscription
    edits asked for (the browser tests use the emulator instead)."""

    links: list[dict[str, Any]] = field(default_factory=list)
    edits: list[tuple[int, str, bool]] = field(default_factory=list)

    async def invoice_link(
        self, title: str, description: str, payload: str, stars: int, *, subscription: bool
    ) -> str:
        self.links.append({"title": title, "description": description, "payload": payload,
                           "stars": stars, "subscription": subscription})  # fmt: skip
        return f"https://t.me/$fake{len(self.links)}"

    async def edit_subscription(self, telegram_id: int, charge_id: str, *, canceled: bool) -> None:
        self.edits.append((telegram_id, charge_id, canceled))

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        raise AssertionError("the Mini App never refunds")


@dataclass
class Api:
    url: str
    http: aiohttp.ClientSession
    live: LiveHub | None = None  # the app's hub, subscribed to the test's bus
    telegram: FakeTelegram = field(default_factory=FakeTelegram)

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


def make_app(
    telegram: FakeTelegram | None = None, callers: views.Callers = views.NO_CACHE
) -> web.Application:
    app = web.Application(middlewares=[problem_middleware])
    fake = FakeTelegram() if telegram is None else telegram
    setup_miniapp(
        app,
        MiniAppConfig(
            bot_token=TOKEN, owners=frozenset({OWNER}), max_age=MAX_AGE,
            script_url=TELEGRAM_SCRIPT, billing=PlanBilling(CHECKOUT, fake, fake),
            callers=callers,
        ),
    )  # fmt: skip
    return app


@pytest.fixture
async def api(database: str, clock: Any, bus: Any, tmp_path: Any) -> AsyncIterator[Api]:
    secret_box.configure("miniapp-tests-master-key", tmp_path)
    telegram = FakeTelegram()
    # the caller cache as the assembly wires it: the process's user cache, dropped per
    # UserChanged; every API test runs through it, so a change that fails to invalidate it
    # shows up as a stale role, plan or ban in the test of that change
    cache = UserCache()
    app = make_app(telegram, views.Callers(cache, probe_for(database)))
    live = app[CONFIG_KEY].live  # as the assembly wires it
    stops = [
        bus.subscribe(LiveUpdate, live.deliver),
        bus.subscribe(UserChanged, live.user_changed),
        bus.subscribe(UserChanged, lambda e: cache.changed(e.telegram_id)),
    ]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Api(str(server.make_url("")).rstrip("/"), http, live, telegram)
    finally:
        await server.close()
        for stop in stops:
            stop()
