"""The weekly drift report on the scheduler leader: checked every hour, sent once per ISO week
to the owners (`services.analytics.drift_weekly`, idempotent per week). Thin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from core import clock
from jobs.ea_jobs import EaScheduler, safe_job
from services.analytics import drift_weekly

CHECK_EVERY_S = 3600.0


def drift_job(
    owners: Sequence[int], wake: Callable[[], None] | None = None
) -> Callable[[], Awaitable[None]]:
    async def weekly_drift_job() -> None:
        await drift_weekly.send_weekly(owners, clock.now(), wake)

    return weekly_drift_job


def schedule_drift(
    scheduler: EaScheduler,
    owners: Sequence[int],
    wake: Callable[[], None] | None = None,
    every_s: float = CHECK_EVERY_S,
) -> None:
    """Add the weekly report's check to the leader's scheduler (first check at once)."""
    job = drift_job(owners, wake)
    scheduler.add_job(
        safe_job(job, scheduler.running_jobs), "interval", seconds=every_s, id=job.__name__,
        next_run_time=clock.now(), misfire_grace_time=int(every_s),
    )  # fmt: skip
