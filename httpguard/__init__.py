"""Read bounds for aiohttp servers: header and body deadlines (408), a connection cap (503).

A small library that knows nothing of SignalDesk, so the app and the Telegram emulator both
use it. Serve an application with it::

    limits = ReadLimits(header_timeout_s=10, body_timeout_s=30)
    app = web.Application(middlewares=[read_bounds(limits), ...])
    runner = web.AppRunner(app, **limits.runner_kwargs())
    await runner.setup()
    await GuardedSite(runner, host, port, ConnectionGuard(limits)).start()
"""

from httpguard.connection import ConnectionGuard, GuardedConnection, Phase, raw_problem
from httpguard.limits import ReadLimits, fit_to_descriptors
from httpguard.middleware import client_gone, read_bounds
from httpguard.site import GuardedSite

__all__ = [
    "ConnectionGuard",
    "GuardedConnection",
    "GuardedSite",
    "Phase",
    "ReadLimits",
    "client_gone",
    "fit_to_descriptors",
    "raw_problem",
    "read_bounds",
]
