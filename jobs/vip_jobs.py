"""The VIP chat's reconciliation on the scheduler leader: members checked against access
(removals at the end of access, drift fixed). Thin: one service call, logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core import clock
from jobs.ea_jobs import EaScheduler, safe_job
from services.billing import vip
from services.billing.vip import ReconcileReport, VipTelegram

log = logging.getLogger(__name__)


async def vip_reconcile(port: VipTelegram) -> ReconcileReport:
    report = await vip.reconcile(port, clock.now())
    if report.removed or report.closed or report.recorded or report.errors:
        log.info(
            "vip reconciliation",
            extra={
                "checked": report.checked,
                "removed": len(report.removed),
                "closed": len(report.closed),
                "recorded": len(report.recorded),
                "errors": report.errors,
            },
        )
    return report


def vip_job(port: VipTelegram) -> Callable[[], Awaitable[None]]:
    async def vip_reconcile_job() -> None:
        await vip_reconcile(port)

    return vip_reconcile_job


def schedule_vip(scheduler: EaScheduler, port: VipTelegram, every_s: float) -> None:
    """Add the reconciliation to the leader's scheduler (first run at once)."""
    job = vip_job(port)
    scheduler.add_job(
        safe_job(job, scheduler.running_jobs),
        "interval",
        seconds=every_s,
        id=job.__name__,
        next_run_time=clock.now(),
    )
