"""The real app on loopback, devices made through the service, and a signing test terminal.

One app per test module (module-scoped event loop: ``pytestmark`` in each module), emptied
at start; every test makes its own devices, so tests do not see each other's data.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.app import AppRunner
from core import db
from ea.api import HUB_KEY
from ea.crypto import sign_request
from services.terminals import devices
from services.terminals import secrets as secret_box
from tests.dbutil import truncate_all
from tests.e2e.conftest import TOKEN, app_settings, running_app
from tests.waiting import until
from tgemu import EmulatorServer

MASTER_KEY = "test-master-key-for-the-ea-suite"
_telegram_ids = itertools.count(700_000)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    secret_box.configure(MASTER_KEY, path)
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as server:
        yield server


def ea_settings(db_url: str, emulator_url: str, key_dir: Path, **overrides: Any) -> Any:
    return app_settings(
        db_url, emulator_url, master_key=MASTER_KEY, data_dir=str(key_dir), **overrides
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(db_url: str, emulator: EmulatorServer, key_dir: Path) -> AsyncIterator[AppRunner]:
    await db.init_db(db_url)
    await truncate_all()
    await db.close_db()
    async with running_app(ea_settings(db_url, emulator.url, key_dir)) as runner:
        yield runner


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Terminal:
    """One device talking to the app; every call can override any part of the signing."""

    base_url: str
    device_id: str
    secret: str
    http: aiohttp.ClientSession
    pk: int = 0

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        signed_body: bytes | None = None,
        **sign_kw: Any,
    ) -> Reply:
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        signing = data if signed_body is None else signed_body
        signed = sign_request(
            self.secret, method, path, signing, device_id=self.device_id, **sign_kw
        )
        signed.update(headers or {})
        signed["Content-Type"] = "application/json"
        async with self.http.request(
            method, self.base_url + path, data=data, headers=signed
        ) as resp:
            return Reply(resp.status, await resp.read(), resp.content_type)

    async def poll(self, wait: int = 0) -> Reply:
        return await self.call("GET", f"/ea/v1/commands?wait={wait}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def new_terminal(
    base_url: str, http: aiohttp.ClientSession, telegram_id: int | None = None, **kw: Any
) -> Terminal:
    """A new device (of a new user unless ``telegram_id`` is given) and its test terminal."""
    tid = next(_telegram_ids) if telegram_id is None else telegram_id
    made = await devices.create_device(tid, "Test terminal", **kw)
    return Terminal(base_url, made.device_id, made.secret, http, made.device.id)


@pytest_asyncio.fixture(loop_scope="module")
async def terminal(app: AppRunner, http: aiohttp.ClientSession) -> Terminal:
    return await new_terminal(app.base_url, http)


async def polls_waiting(app: AppRunner, count: int) -> None:
    """Until exactly ``count`` long polls wait in the app (registered: a wake-up reaches them)."""
    hub = app.web_app[HUB_KEY]
    await until(lambda: hub.waiting, f"{count} long polls waiting", accept=lambda n: n == count)


async def bookkeeping_done(app: AppRunner) -> None:
    """Until the "delivered" stamps written after the answers are all in the database."""
    hub = app.web_app[HUB_KEY]
    await until(lambda: hub.bookkeeping, "delivered stamps written", accept=lambda n: n == 0)
