"""The app's HTTP server: the web application behind the read bounds (`httpguard`).

Header and body deadlines, idle keep-alive and the connection cap come from the HTTP_*
settings; what the guard cuts short is counted in /metrics (`signaldesk_http_guard_total`,
and 408/503 in `signaldesk_http_problems_total`).
"""

from __future__ import annotations

from aiohttp import web

from core import metrics
from core.settings import Settings
from httpguard import ConnectionGuard, GuardedSite, ReadLimits, fit_to_descriptors

SHUTDOWN_TIMEOUT_S = 10.0
_STATUS = {"header_timeout": "408", "body_timeout": "408", "over_capacity": "503"}


def read_limits(settings: Settings) -> ReadLimits:
    """The read bounds from the settings, the cap fitted to the file descriptors."""
    return fit_to_descriptors(
        ReadLimits(
            header_timeout_s=settings.http_header_timeout_s,
            body_timeout_s=settings.http_body_timeout_s,
            keepalive_timeout_s=settings.http_keepalive_timeout_s,
            max_connections=settings.http_max_connections,
        )
    )


def count_guard_event(event: str) -> None:
    metrics.HTTP_GUARD.labels(event).inc()
    if event in _STATUS:
        metrics.HTTP_ERRORS.labels(_STATUS[event]).inc()


async def serve(
    app: web.Application, host: str, port: int, limits: ReadLimits
) -> tuple[web.AppRunner, GuardedSite]:
    """Start serving `app` on host:port (0 = a free port); stop with `runner.cleanup()`."""
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S, **limits.runner_kwargs()
    )
    await runner.setup()
    site = GuardedSite(runner, host, port, ConnectionGuard(limits, on_event=count_guard_event))
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site
