"""Two replicas on one database: exactly one runs the singleton jobs, and when it is killed
(SIGKILL: no goodbye) the standby takes over and delivers what is queued, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bot.app import AppRunner
from bot.emulator import EmulatorClient, EmulatorServer
from services import notifications
from tests.e2e.conftest import OWNER, SUB, TOKEN, app_settings, free_port, webhook_settings

ROOT = Path(__file__).resolve().parents[2]


async def leader_gauge(port: int) -> float | None:
    """The replica's `signaldesk_scheduler_leader` from its /metrics (None: not serving)."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            body = await resp.text()
    except aiohttp.ClientError:
        return None
    for line in body.splitlines():
        if line.startswith("signaldesk_scheduler_leader "):
            return float(line.split()[1])
    return None


async def until(predicate: Callable[[], object], timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_standby_replica_takes_over_when_the_leader_is_killed(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": emulator.url,
        "DATABASE_URL": clean_db,
        "WEB_PORT": str(port),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook",
        "WEBHOOK_SECRET": "s3cret-for-tests",
        "OWNER_IDS": str(OWNER),
        "MARKET_DATA": "none",
        "LEADER_RETRY_S": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    leader = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-migrate", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    standby: AppRunner | None = None
    try:

        async def leading() -> bool:
            return await leader_gauge(port) == 1.0

        await until(leading)
        settings = app_settings(
            clean_db, emulator.url, leader_retry_s=0.2, **webhook_settings("webhook")
        )
        standby = AppRunner(settings, migrate=False)
        await standby.start()
        assert standby.leadership is not None and not standby.leadership.is_leader
        assert standby.sender is None and standby.ea_jobs is None

        # Queued on the standby, delivered by the leader's sender.
        await notifications.enqueue(SUB, "test", notifications.text("one"), "lead:1")
        await tg.wait_for(SUB, lambda m: m["text"] == "one", timeout=30, after_seq=0)

        async def recorded() -> bool:
            # Killed between a send and its bookkeeping (at most `flush_s`, 50 ms), the row
            # would be re-sent by the next leader: at least once, never lost.
            return (await notifications.stats()).sent == 1

        await until(recorded)
        leader.send_signal(signal.SIGKILL)
        await leader.wait()
        await until(lambda: standby.leadership.is_leader)  # type: ignore[union-attr]
        assert standby.sender is not None and standby.ea_jobs is not None

        await notifications.enqueue(SUB, "test", notifications.text("two"), "lead:2")
        await tg.wait_for(SUB, lambda m: m["text"] == "two", timeout=30, after_seq=0)
        texts = [m["text"] for m in await tg.messages(SUB)]
        assert texts == ["one", "two"]
    finally:
        if leader.returncode is None:
            leader.kill()
            await leader.wait()
        if standby is not None:
            await standby.stop()
