"""`stop_scheduler` lets a running terminal job finish (it is never cancelled mid-run)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from apscheduler.schedulers.base import STATE_PAUSED

from jobs.ea_jobs import EaScheduler, _safe, stop_scheduler
from tests.waiting import until


async def test_stop_waits_for_the_running_job() -> None:
    entered, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_job() -> None:
        entered.set()
        await release.wait()
        finished.set()

    scheduler = EaScheduler()
    job = _safe(slow_job, scheduler.running_jobs)
    scheduler.add_job(job, "interval", seconds=3600, next_run_time=datetime.now(UTC))
    scheduler.start()
    await until(entered.is_set, "the job runs")
    assert len(scheduler.running_jobs) == 1
    stopping = asyncio.create_task(stop_scheduler(scheduler))
    await until(lambda: scheduler.state == STATE_PAUSED, "paused")
    assert not stopping.done()
    release.set()
    await stopping
    assert finished.is_set() and not scheduler.running and not scheduler.running_jobs


async def test_a_failing_job_leaves_the_running_set() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    running: set[asyncio.Task[object]] = set()
    await asyncio.create_task(_safe(broken, running)())
    assert not running
