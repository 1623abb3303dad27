"""Two replicas on one database: exactly one runs the singleton jobs, and when it is killed
(SIGKILL: no goodbye) the standby takes over and delivers what is queued, nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.app import AppRunner
from services.outbox import notifications
from services.outbox.kinds import Prepared
from tests.e2e.conftest import (
    OWNER,
    STARTUP_S,
    SUB,
    TOKEN,
    app_settings,
    free_port,
    metric,
    webhook_settings,
)
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


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
        await until(
            lambda: metric(port, "signaldesk_scheduler_leader"),
            "the subprocess up and leading (its /metrics gauge at 1)",
            accept=lambda gauge: gauge == 1.0,
            timeout_s=STARTUP_S,
        )
        settings = app_settings(
            clean_db, emulator.url, leader_retry_s=0.2, **webhook_settings("webhook")
        )
        standby = AppRunner(settings, migrate=False)
        await standby.start()
        assert standby.leadership is not None and not standby.leadership.is_leader
        assert standby.sender is None and standby.ea_jobs is None

        # Queued on the standby, delivered by the leader's sender.
        await notifications.enqueue(SUB, Prepared(notifications.text("one")), "lead:1")
        await tg.wait_for(SUB, lambda m: m["text"] == "one", after_seq=0)
        # Killed between a send and its bookkeeping (at most `flush_s`, 50 ms), the row
        # would be re-sent by the next leader: at least once, never lost.
        await until(notifications.stats, "'one' recorded as sent", accept=lambda s: s.sent == 1)
        leader.send_signal(signal.SIGKILL)
        await leader.wait()
        leadership = standby.leadership
        await until(lambda: leadership.is_leader, "the standby to take over")
        assert standby.sender is not None and standby.ea_jobs is not None

        await notifications.enqueue(SUB, Prepared(notifications.text("two")), "lead:2")
        await tg.wait_for(SUB, lambda m: m["text"] == "two", after_seq=0)
        texts = [m["text"] for m in await tg.messages(SUB)]
        assert texts == ["one", "two"]
    finally:
        if leader.returncode is None:
            leader.kill()
            await leader.wait()
        if standby is not None:
            await standby.stop()
