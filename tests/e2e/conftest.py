"""End to end: the real app (AppRunner) against the Telegram emulator over loopback HTTP."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from bot.emulator import EmulatorClient, EmulatorServer
from bot.settings import Settings, load_settings

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
    async with EmulatorClient(emulator.url) as client:
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
