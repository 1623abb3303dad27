"""A server restart during a long poll, and secrets that never reach the database or logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from core import db
from core.logs import JsonFormatter
from ea.crypto import new_nonce
from models.devices import CommandType, Device
from services.terminals import commands as ea_commands
from services.terminals import devices
from tests.dbutil import truncate_all
from tests.e2e.conftest import free_port, running_app
from tests.ea.conftest import Terminal, ea_settings, new_terminal, polls_waiting
from tgemu import EmulatorServer

pytestmark = pytest.mark.asyncio(loop_scope="module")
OPEN = {"symbol": "EURUSD", "side": "sell", "volume": "0.5"}
WAIT_S = 30  # the longest poll a terminal may ask for: answering in half of it is "at once"


async def test_restart_mid_long_poll_then_the_command_arrives(
    db_url: str, emulator: EmulatorServer, key_dir: Path, http: aiohttp.ClientSession
) -> None:
    await db.init_db(db_url)
    await truncate_all()
    await db.close_db()
    settings = ea_settings(db_url, emulator.url, key_dir, web_port=free_port())
    async with running_app(settings) as first:
        t = await new_terminal(first.base_url, http)
        old_nonce = new_nonce()
        assert (await t.call("GET", "/ea/v1/commands?wait=0", nonce=old_nonce)).status == 200
        poll = asyncio.create_task(t.poll(wait=WAIT_S))
        await polls_waiting(first, 1)
        stopping = time.monotonic()
    reply = await poll  # the stopping server releases the poll with an empty answer
    assert (reply.status, reply.json["commands"]) == (200, [])
    assert time.monotonic() - stopping < WAIT_S / 2  # released, not timed out
    with pytest.raises(aiohttp.ClientConnectionError):  # down: a clean connection error
        await t.poll()
    await db.init_db(db_url)  # the command is created while the server is down
    command_id = await ea_commands.create(
        t.pk, CommandType.OPEN, OPEN, signal_id=None, dedupe_key="restart", expires_at=None
    )
    await db.close_db()
    async with running_app(settings) as second:
        assert second.base_url == t.base_url
        started = time.monotonic()
        reply = await t.poll(wait=WAIT_S)
        assert [c["id"] for c in reply.json["commands"]] == [command_id]
        assert time.monotonic() - started < WAIT_S / 2  # found at once, not after the wait
        replay = await t.call("GET", "/ea/v1/commands?wait=0", nonce=old_nonce)
        assert replay.status == 401  # nonces are in the database: restarts do not forget them


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.plain = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.plain.format(record))
        self.lines.append(json.dumps(record.__dict__, default=str))


@pytest.fixture
def all_logs() -> Any:
    handler = Lines()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "tortoise", "aiohttp")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_secret_is_sealed_in_the_database_and_never_logged(
    app: AppRunner, http: aiohttp.ClientSession, all_logs: list[str]
) -> None:
    made = await devices.create_device(880_001, "Logged", encrypt_payloads=True)
    t = Terminal(app.base_url, made.device_id, made.secret, http, made.device.id)
    command_id = await ea_commands.create(
        t.pk, CommandType.OPEN, OPEN, signal_id=None, dedupe_key="logs", expires_at=None
    )
    assert (await t.poll()).status == 200
    ack = {"command_id": command_id, "status": "failed", "error": "no money"}
    assert (await t.call("POST", "/ea/v1/acks", ack)).status == 200
    assert (await t.call("POST", "/ea/v1/acks", {"command_id": 5})).status == 422
    assert (
        await t.call("GET", "/ea/v1/commands", headers={"X-Signature": "0" * 64})
    ).status == 401
    await devices.revoke(None, t.device_id)
    assert (await t.poll()).status == 401
    row = (await Device.filter(id=t.pk).values())[0]
    assert row["secret_enc"].startswith("v1:")
    assert all(made.secret not in str(value) for value in row.values())
    assert made.secret not in repr(made) and made.secret not in repr(
        await app.credentials.get_for_auth(t.device_id)
    )
    assert len(all_logs) > 5  # the capture works (tortoise logs every query at DEBUG)
    assert [line for line in all_logs if made.secret in line] == []
