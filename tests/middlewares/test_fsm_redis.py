"""REDIS_URL: replicas share dialog state, so a dialog begun on one continues on another."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_i18n, create_dispatcher, create_web_app
from core.settings import Settings, load_settings
from models.users import Role
from services.signals import market_data
from services.terminals.device_auth import Credentials
from services.text import formatting
from services.users import profiles as users_service
from tests.handlers.recording import RecordingSession, make_bot, text_update
from tests.waiting import until
from trading.candles import Bar

ADMIN = 7001


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.skip("redis-server is not installed (CI installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def accepting() -> bool:
        if proc.poll() is not None:
            pytest.fail("redis-server exited at start")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:  # a sync fixture (module scope), outside any running loop
        asyncio.run(until(accepting, f"redis-server accepting connections on {port}"))
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def settings_with(redis_url: str | None) -> Settings:
    return load_settings(
        _env_file=None, redis_url=redis_url, throttle_rate=1000, throttle_burst=1000
    )


class Replica:
    def __init__(self, settings: Settings) -> None:
        self.bot, self.session = make_bot()
        self.dp: Dispatcher = create_dispatcher(settings, self.bot, build_i18n())

    async def say(self, text: str) -> list[str]:
        session: RecordingSession = self.session
        before = len(session.calls)
        result = await self.dp.feed_update(self.bot, text_update(ADMIN, text, username="adm"))
        if isinstance(result, TelegramMethod):
            await self.bot(result)
        return [c.text for c in session.calls[before:] if hasattr(c, "text")]

    async def close(self) -> None:
        await self.dp.storage.close()


def texts(*keys: str) -> list[str]:
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        return [i18n.gettext(key) for key in keys]


# One process holds one dispatcher (the feature routers attach to the newest), so the replicas
# take turns here: each starts after the previous one handled its update, as after a failover
# or when the load balancer picks another replica.


async def test_a_dialog_begun_on_one_replica_continues_on_another(
    database: str, redis_url: str
) -> None:
    await users_service.seed(ADMIN, "Adm", "adm", Role.ADMIN)
    bar_time = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    await market_data.record_bar("EURUSD", Bar(bar_time, *[1.08412] * 4), 3600)  # a live feed
    ask_symbol, ask_side, cancelled, nothing = texts(
        "post.q_symbol", "post.q_side", "cancel.done", "cancel.nothing"
    )
    a = Replica(settings_with(redis_url))
    await a.dp.storage.redis.flushdb()  # type: ignore[attr-defined]
    assert await a.say("/post") == [ask_symbol]
    await a.close()
    b = Replica(settings_with(redis_url))
    side = ask_side.format(symbol="EURUSD", last="1.08412", time=formatting.when(bar_time, "en"))
    assert await b.say("EURUSD") == [side]  # state from Redis
    await b.close()
    c = Replica(settings_with(redis_url))
    assert await c.say("/cancel") == [cancelled]
    assert await c.say("/cancel") == [nothing]
    await c.close()


async def test_without_redis_each_process_keeps_its_own_dialogs(database: str) -> None:
    await users_service.seed(ADMIN, "Adm", "adm", Role.ADMIN)
    ask_symbol, nothing = texts("post.q_symbol", "cancel.nothing")
    a = Replica(settings_with(None))
    assert await a.say("/post") == [ask_symbol]
    b = Replica(settings_with(None))
    assert await b.say("/cancel") == [nothing]


async def test_ready_reports_redis(database: str, redis_url: str) -> None:
    for url, status in ((redis_url, 200), (f"redis://127.0.0.1:{free_port()}/0", 503)):
        bot: Bot
        bot, _ = make_bot()
        dp = create_dispatcher(settings_with(url), bot, build_i18n())
        app: web.Application = create_web_app(settings_with(url), bot, dp, Credentials())
        async with TestClient(TestServer(app)) as client:
            resp = await asyncio.wait_for(client.get("/ready"), 30)  # catches a hang only
            body = await resp.json()
        await dp.storage.close()
        assert resp.status == status, body
        if status == 200:
            assert body["redis"] == "ok"
        else:
            assert resp.content_type == "application/problem+json"
            assert "redis unreachable" in body["detail"]
