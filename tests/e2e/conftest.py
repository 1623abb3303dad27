"""End to end: the real app (AppRunner) against the Telegram emulator over loopback HTTP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from core import db
from core.settings import Settings, load_settings
from models.users import Role
from services import app_settings as stored_settings
from services.users import profiles as users_service
from tgemu import EmulatorClient, EmulatorServer
from trading.feeds import PushFeed

TOKEN = "123456789:E2E-test-token-abcdefghijkl"
OWNER, ADMIN, SUB, VISITOR = 1000001, 1000004, 1000002, 1000003
STARTUP_S = 60  # a fresh `python -m bot run` replica imports for seconds on a loaded machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def metric(port: int, name: str) -> float | None:
    """A replica's gauge or counter from its /metrics (None: not serving, or no such sample)."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            body = await resp.text()
    except aiohttp.ClientError:
        return None
    for line in body.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as server:
        yield server


@pytest.fixture
async def tg(emulator: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with emulator.client() as client:
        await client.add_user(OWNER, "Olivia", username="olivia")
        await client.add_user(ADMIN, "Adam", username="adam")
        await client.add_user(SUB, "Sam", username="sam")
        await client.add_user(VISITOR, "Nico", username="nico", language_code="es")
        yield client


def app_settings(db_url: str, emulator_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_base": emulator_url,
        "database_url": db_url,
        "web_port": 0,
        "owner_ids": str(OWNER),
        "log_json": False,
        "market_data": "none",
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[AppRunner]:
    runner = AppRunner(settings, migrate=False)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


AppFactory = Callable[..., Any]


def webhook_settings(mode: str) -> dict[str, Any]:
    port = free_port()
    return {
        "web_port": port,
        "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
        "webhook_secret": "s3cret-for-tests",
        # webhook-reply: handle in the request, replies travel in the webhook response
        "webhook_in_background": mode == "webhook",
    }


@pytest.fixture(params=["polling", "webhook", "webhook-reply"])
async def app(
    request: pytest.FixtureRequest, clean_db: str, emulator: EmulatorServer
) -> AsyncIterator[AppRunner]:
    """The real app in every transport."""
    extra = webhook_settings(request.param) if request.param.startswith("webhook") else {}
    async with running_app(app_settings(clean_db, emulator.url, **extra)) as runner:
        yield runner


@pytest.fixture
async def webhook_app(clean_db: str, emulator: EmulatorServer) -> AsyncIterator[AppRunner]:
    settings = app_settings(clean_db, emulator.url, **webhook_settings("webhook"))
    async with running_app(settings) as runner:
        yield runner


def text(m: dict[str, Any]) -> str:
    return str(m.get("text") or m.get("caption") or "")


async def say(tg: EmulatorClient, user: int, line: str) -> dict[str, Any]:
    """Type `line` as `user`; the bot's next new message in that chat."""
    await tg.send(user, line)
    return dict(await tg.wait_for_bot(user, timeout=10))


@pytest.fixture
async def owner_app(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient
) -> AsyncIterator[tuple[AppRunner, PushFeed]]:
    """The app with the owner Olivia, the subscriber Sam and the visitor Nico, free summaries
    at once, and an EURUSD trading loop on bars the test pushes (all closed: the feed's clock
    is in 2030)."""
    await db.init_db(clean_db)
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    await stored_settings.put("signals.free_delay_hours", 0)
    await db.close_db()
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    settings = app_settings(
        clean_db, emulator.url, symbols="EURUSD", loop_poll_s=0.01,
        sender_rate_per_s=500, sender_per_chat_per_s=100, throttle_rate=100, throttle_burst=100,
    )  # fmt: skip
    runner = AppRunner(settings, migrate=False, feeds={"EURUSD": feed})
    await runner.start()
    try:
        yield runner, feed
    finally:
        await runner.stop()


@pytest.fixture
async def plain_app(clean_db: str, emulator: EmulatorServer) -> AsyncIterator[AppRunner]:
    """The app in polling mode with the subscriber Sam and the admin Adam already registered
    (Olivia is the owner by OWNER_IDS, Nico registers on his first message), no trading loop,
    and throttling loose enough for a test that types fast."""
    await db.init_db(clean_db)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(ADMIN, "Adam", "adam", Role.ADMIN)
    await db.close_db()
    settings = app_settings(clean_db, emulator.url, throttle_rate=100, throttle_burst=100)
    async with running_app(settings) as runner:
        yield runner
