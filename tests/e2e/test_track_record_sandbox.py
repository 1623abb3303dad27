"""Issue 13's "done" in sandbox mode, over the app's own HTTP port: the bundled bars replayed
through the trading loop close signals; the public page shows that track record (delayed 24 h:
replayed bars are years old) with each signal linking into the ledger; the stand-alone script
confirms the chain; a row tampered with behind the database's guard is caught by the script and
by `python -m bot ledger verify`. (An alert set during the replay: tests/alerts/test_sandbox_alert.)"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import aiohttp
import pytest

from bot.app import AppRunner
from models.ledger import LedgerEntry
from models.signals import Signal, SignalStatus
from tests.e2e.test_sandbox import sandbox_settings, start_sandbox
from tests.ledger.conftest import run_script, without_guard
from tests.waiting import until
from trading.candles import load_csv
from trading.feeds import PushFeed

ROOT = Path(__file__).resolve().parents[2]
BARS = 200  # the first signals of the bundled EURUSD data have closed by then


@pytest.fixture
async def replayed(clean_db: str, data_dir: Path, tmp_path: Path) -> AsyncIterator[AppRunner]:
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir, tmp_path), {"EURUSD": feed})
    try:
        feed.push("EURUSD", [candles.bar(i) for i in range(BARS)])
        yield runner
    finally:
        await runner.stop()


async def get(base: str, path: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(base + path) as response:
        assert response.status == 200, (path, response.status)
        return await response.text()


async def cli_verify(base: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ledger", "verify", "--url", base,
        cwd=ROOT, env={**os.environ, "BOT_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode


async def test_the_replayed_track_record_is_public_and_verifiable(replayed: AppRunner) -> None:
    base = replayed.base_url
    closed = await until(
        lambda: Signal.filter(status=SignalStatus.CLOSED).order_by("id"),
        "signals closed by the replay",
        accept=lambda rows: len(rows) >= 2,
    )
    await until(
        lambda: LedgerEntry.filter(signal_id=closed[-1].id, kind="closed").count(),
        "the last close in the ledger",
        accept=lambda n: n == 1,
    )
    page = unescape(await get(base, "/performance?lang=en"))
    for row in closed:
        assert f'href="/performance/signal/{row.id}?lang=en">#{row.id}</a>' in page
        assert f'href="/ledger?signal={row.id}"' in page
        entries = await get(base, f"/ledger?signal={row.id}")
        assert '"kind":"published"' in entries.replace(" ", "")
        assert '"kind":"closed"' in entries.replace(" ", "")
    assert "How to verify" in page

    code, out = await run_script(base)
    assert code == 0 and out.startswith("OK: "), out
    assert await cli_verify(base) == 0

    victim = await LedgerEntry.filter(signal_id=closed[0].id, kind="closed").first()
    assert victim is not None
    forged = victim.event.replace('"result_r":"-1.0000"', '"result_r":"3.0000"')
    if forged == victim.event:  # a winner: make it a bigger one
        forged = victim.event.replace('"reason":"tp"', '"reason":"tp","note":"x"')
    assert forged != victim.event

    async def rewrite() -> None:
        await LedgerEntry.filter(seq=victim.seq).update(event=forged)

    await without_guard(rewrite)
    code, out = await run_script(base)
    assert code == 1 and out.startswith(f"BROKEN at seq {victim.seq}"), out
    assert await cli_verify(base) != 0
