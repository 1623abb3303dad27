"""Terminal housekeeping on an APScheduler: offline detection, command expiry, reconciliation,
snapshot and nonce pruning. Thin: each job calls one service and logs what it did.

Create and start inside the running loop after Tortoise is initialised (its context variable is
inherited by the scheduler's tasks). Jobs coalesce missed runs and tolerate a late start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import clock
from services.terminals import commands as ea_commands
from services.terminals import device_auth, reconciliation
from services.terminals import overview as terminals

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EaJobIntervals:
    """Seconds between runs."""

    offline_s: float = 15.0  # offline after 90 s: told within 105 s at worst
    expiry_s: float = 30.0
    reconcile_s: float = 120.0
    prune_s: float = 3600.0


async def offline_job() -> None:
    sweep = await terminals.detect_offline()
    if sweep.offline or sweep.online:
        log.info(
            "terminals offline/online", extra={"offline": sweep.offline, "online": sweep.online}
        )


async def expiry_job() -> None:
    expired = await ea_commands.expire_stale()
    if expired:
        log.info("commands expired", extra={"count": expired})


async def reconcile_job() -> None:
    findings = await reconciliation.reconcile_all()
    if findings:
        log.info("reconciliation findings", extra={"count": len(findings)})


async def prune_job() -> None:
    """Old account snapshots, and nonces past the replay window (the API also prunes them
    while requests flow; this covers quiet periods)."""
    pruned = await terminals.prune_snapshots()
    nonces = await device_auth.prune_nonces()
    log.info("pruned", extra={"snapshots": pruned, "nonces": nonces})


class EaScheduler(AsyncIOScheduler):
    """An `AsyncIOScheduler` that knows which of its jobs are running: every job is wrapped
    (`_safe`) to sit in `running` while it runs. APScheduler 3 has no public way to list
    running jobs (its asyncio executor keeps them private), and `stop_scheduler` waits for
    them."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.running_jobs: set[asyncio.Task[Any]] = set()


def _safe(
    job: Callable[[], Awaitable[None]], running: set[asyncio.Task[Any]]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await job()
        except Exception:
            log.exception("ea job failed", extra={"job": job.__name__})
        finally:
            if task is not None:
                running.discard(task)

    run.__name__ = job.__name__
    return run


safe_job = _safe  # for the other jobs on this scheduler (jobs.vip_jobs)


def build_scheduler(intervals: EaJobIntervals | None = None) -> EaScheduler:
    """The scheduler with every terminal job; call `.start()` inside the running loop."""
    every = intervals or EaJobIntervals()
    scheduler = EaScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    jobs = (
        (offline_job, every.offline_s),
        (expiry_job, every.expiry_s),
        (reconcile_job, every.reconcile_s),
        (prune_job, every.prune_s),
    )
    now = clock.now()
    for job, seconds in jobs:
        scheduler.add_job(
            _safe(job, scheduler.running_jobs),
            "interval",
            seconds=seconds,
            id=job.__name__,
            next_run_time=now,
        )
    return scheduler


async def stop_scheduler(scheduler: EaScheduler, timeout_s: float = 10.0) -> None:
    """Stop without cancelling a running job: pause (no new runs), let the running ones finish,
    then shut down. APScheduler's asyncio executor cancels running jobs on shutdown, and a job
    cancelled inside a database transaction can leave the SQLite connection locked."""
    if not scheduler.running:
        return
    scheduler.pause()
    running = list(scheduler.running_jobs)
    if running:
        await asyncio.wait(running, timeout=timeout_s)
    scheduler.shutdown(wait=False)
