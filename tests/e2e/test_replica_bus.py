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
from ea.client.http import AuthRejected, SignedClient
from models.users import Role
from services.terminals import commands as ea_commands
from services.terminals import devices
from services.users import access, registration
from services.users import profiles as users_service
from services.users.profiles import TelegramProfile
from tests.dbutil import postgres_server_url
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
from trading.candles import load_csv, to_unix_s

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


pytestmark = pytest.mark.skipif(
    postgres_server_url() is None, reason="the bus is PostgreSQL's (CI runs it)"
)


async def start_replica(
    db_url: str, emulator_url: str, port: int, data_dir: Path, **extra: str
) -> asyncio.subprocess.Process:
    """Another replica: `python -m bot run` in its own process, on the same database."""
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": emulator_url,
        "DATABASE_URL": db_url,
        "WEB_PORT": str(port),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook",
        "WEBHOOK_SECRET": "s3cret-for-tests",
        "OWNER_IDS": str(OWNER),
        "MARKET_DATA": "none",
        "MASTER_KEY": MASTER_KEY,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-migrate", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await until(
            lambda: serving(port), f"a replica serving /ready on {port}", timeout_s=STARTUP_S
        )
    except AssertionError:
        process.kill()
        raise
    return process


async def poll_waiting_on(port: int) -> None:
    """Until the replica on `port` holds the terminal's long poll open (its /metrics gauge)."""
    await until(
        lambda: metric(port, "signaldesk_ea_long_polls"),
        f"a long poll open on the replica at {port}",
        accept=lambda polls: polls == 1,
    )


async def stop_replica(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await process.wait()


async def test_commands_and_revocations_reach_a_poll_on_another_replica(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, tmp_path: Path
) -> None:
    port_b = free_port()
    settings = app_settings(
        clean_db, emulator.url, master_key=MASTER_KEY, data_dir=str(tmp_path),
        **webhook_settings("webhook"),
    )  # fmt: skip
    replica_a = AppRunner(settings, migrate=False)
    await replica_a.start()
    replica_b = await start_replica(clean_db, emulator.url, port_b, tmp_path)
    try:
        made = await devices.create_device(SUB, "Sam's MT5")
        async with SignedClient(f"http://127.0.0.1:{port_b}", made.device_id, made.secret) as ea:
            await ea.request("GET", "/ea/v1/commands?wait=0")  # B knows the device now

            poll = asyncio.create_task(ea.request("GET", f"/ea/v1/commands?wait={WAIT_S}",
                                                  timeout_s=WAIT_S + 10))  # fmt: skip
            await poll_waiting_on(port_b)
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
            await poll_waiting_on(port_b)
            started = time.monotonic()
            await devices.revoke(None, made.device_id)  # on A
            answer = await poll
            assert answer["commands"] == []
            assert time.monotonic() - started < WAIT_S / 2  # ended at once
            with pytest.raises(AuthRejected):  # and B refuses the device from now on
                await ea.request("GET", "/ea/v1/commands?wait=0")
    finally:
        await stop_replica(replica_b)
        await replica_a.stop()


async def test_owner_ea_bars_posted_to_a_standby_reach_the_leaders_trading_loop(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, tmp_path: Path
) -> None:
    settings = app_settings(
        clean_db, emulator.url, master_key=MASTER_KEY, data_dir=str(tmp_path),
        market_data="ea", **webhook_settings("webhook"),
    )  # fmt: skip
    leader = AppRunner(settings, migrate=False)
    await leader.start()
    port_b = free_port()
    standby = await start_replica(clean_db, emulator.url, port_b, tmp_path, MARKET_DATA="ea")
    try:
        assert leader.trading_loop is not None and leader.leadership.is_leader  # type: ignore[union-attr]
        made = await devices.create_device(OWNER, "Owner's feed", owners=frozenset({OWNER}))
        candles = load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles
        bars = [candles.bar(i) for i in range(60)]
        body = {"bars": [
            {"symbol": "EURUSD", "time": to_unix_s(b.time), "open": b.open, "high": b.high,
             "low": b.low, "close": b.close, "volume": b.volume}
            for b in bars
        ]}  # fmt: skip
        async with SignedClient(f"http://127.0.0.1:{port_b}", made.device_id, made.secret) as ea:
            await ea.request("POST", "/ea/v1/bars", body)  # to the standby
        loop = leader.trading_loop
        await until(lambda: loop.processed, "60 bars on the leader", accept=lambda n: n >= 60)
        assert loop.processed == 60  # every bar, once, on the leader
    finally:
        await stop_replica(standby)
        await leader.stop()


async def answer_to(tg: EmulatorClient, user: int, text: str) -> str:
    await tg.send(user, text)
    reply = await tg.wait_for_bot(user, timeout=15)
    return str(reply.get("text") or "")


async def answers_eventually(tg: EmulatorClient, user: int, text: str, expect: str) -> None:
    """Ask until the answer contains `expect` (a change reaches the other replica over the bus
    a moment after its commit); the user cache lives an hour, so only the bus can do it.
    A few tries only: more would be throttled (THROTTLE_BURST)."""
    for _ in range(8):
        if expect in await answer_to(tg, user, text):
            return
    raise AssertionError(f"never answered {expect!r}")


async def test_a_role_change_on_one_replica_or_the_cli_empties_the_others_cached_user(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, tmp_path: Path
) -> None:
    settings = app_settings(
        clean_db, emulator.url, master_key=MASTER_KEY, data_dir=str(tmp_path),
        user_cache_ttl_s=3600, **webhook_settings("webhook"),
    )  # fmt: skip
    replica_a = AppRunner(settings, migrate=False)
    await replica_a.start()
    port_b = free_port()
    replica_b = await start_replica(
        clean_db, emulator.url, port_b, tmp_path, USER_CACHE_TTL_S="3600"
    )
    try:
        await until(lambda: f":{port_b}/" in emulator.emulator.webhook.get("url", ""), 30)
        owner = await registration.ensure_user(
            TelegramProfile(OWNER, "olivia", "Olivia", None, "en"), owners=frozenset({OWNER})
        )
        await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
        assert "No active signals" in await answer_to(tg, SUB, "/signals")  # B caches Sam

        await access.set_role(owner, "@sam", "public")  # on replica A
        await answers_eventually(tg, SUB, "/signals", "Subscribers get every signal")

        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "OWNER_IDS")}
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "users", "role", "@sam", "subscriber", cwd=ROOT,
            env=env | {"DATABASE_URL": clean_db}, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await cli.communicate()
        assert cli.returncode == 0, err.decode()
        await answers_eventually(tg, SUB, "/signals", "No active signals")
        notices = [m.get("text") or "" for m in await tg.messages(SUB) if m["from_bot"]]
        assert any("Your subscriber access has ended" in t for t in notices)
        await tg.wait_for(SUB, lambda m: "You are now a subscriber" in (m.get("text") or ""),
                          timeout=15, after_seq=0)  # fmt: skip
    finally:
        await stop_replica(replica_b)
        await replica_a.stop()
