"""PostgreSQL replicas tell each other at once: a terminal long-polling replica B gets the
command replica A created before its wait ends, and a revocation on A ends B's polls now."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.app import AppRunner
from bot.emulator import EmulatorClient, EmulatorServer
from ea.client_http import AuthRejected, SignedClient
from services import devices, ea_commands
from tests.dbutil import postgres_server_url
from tests.e2e.conftest import OWNER, SUB, TOKEN, app_settings, free_port, webhook_settings

ROOT = Path(__file__).resolve().parents[2]
MASTER_KEY = "replica-bus-test-master-key-0123456789abcdef"
WAIT_S = 25  # a poll that is not woken answers only after this


async def serving(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/ready") as resp,
        ):
            return resp.status == 200
    except aiohttp.ClientError:
        return False


@pytest.mark.skipif(postgres_server_url() is None, reason="the bus is PostgreSQL's (CI runs it)")
async def test_commands_and_revocations_reach_a_poll_on_another_replica(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, tmp_path: Path
) -> None:
    port_b = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": emulator.url,
        "DATABASE_URL": clean_db,
        "WEB_PORT": str(port_b),
        "WEBHOOK_URL": f"http://127.0.0.1:{port_b}/tg/hook",
        "WEBHOOK_SECRET": "s3cret-for-tests",
        "OWNER_IDS": str(OWNER),
        "MARKET_DATA": "none",
        "MASTER_KEY": MASTER_KEY,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    replica_b = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-migrate", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    settings = app_settings(
        clean_db, emulator.url, master_key=MASTER_KEY, data_dir=str(tmp_path),
        **webhook_settings("webhook"),
    )  # fmt: skip
    replica_a = AppRunner(settings, migrate=False)
    await replica_a.start()
    try:
        for _ in range(1200):
            if await serving(port_b):
                break
            await asyncio.sleep(0.05)
        made = await devices.create_device(SUB, "Sam's MT5")
        async with SignedClient(f"http://127.0.0.1:{port_b}", made.device_id, made.secret) as ea:
            await ea.request("GET", "/ea/v1/commands?wait=0")  # B knows the device now

            poll = asyncio.create_task(ea.request("GET", f"/ea/v1/commands?wait={WAIT_S}",
                                                  timeout_s=WAIT_S + 10))  # fmt: skip
            await asyncio.sleep(0.5)  # the poll is waiting on B
            started = time.monotonic()
            command_id = await ea_commands.create(  # on A: B hears of it over the bus
                made.device.id, "open", {"symbol": "EURUSD", "side": "buy"},
                signal_id=None, dedupe_key="bus-1", expires_at=None,
            )  # fmt: skip
            answer = await poll
            assert [c["id"] for c in answer["commands"]] == [command_id]
            assert time.monotonic() - started < WAIT_S / 2  # woken, not timed out
            ack = {"command_id": command_id, "status": "rejected", "error": "not today"}
            await ea.request("POST", "/ea/v1/acks", ack)  # nothing pending any more

            poll = asyncio.create_task(ea.request("GET", f"/ea/v1/commands?wait={WAIT_S}",
                                                  timeout_s=WAIT_S + 10))  # fmt: skip
            await asyncio.sleep(0.5)
            started = time.monotonic()
            await devices.revoke(None, made.device_id)  # on A
            answer = await poll
            assert answer["commands"] == []
            assert time.monotonic() - started < WAIT_S / 2  # ended at once
            with pytest.raises(AuthRejected):  # and B refuses the device from now on
                await ea.request("GET", "/ea/v1/commands?wait=0")
    finally:
        if replica_b.returncode is None:
            replica_b.terminate()
            await replica_b.wait()
        await replica_a.stop()
