"""`GuardedSite`: aiohttp's TCP site with every connection behind a `ConnectionGuard`."""

from __future__ import annotations

import asyncio

from aiohttp import web

from httpguard.connection import ConnectionGuard


class GuardedSite(web.BaseSite):
    """Like `web.TCPSite(runner, host, port)`, but the connections pass through `guard`.

    `web.BaseSite` is aiohttp's extension point for sites: a subclass opens its server in
    `start()` and keeps it in ``self._server``, which `stop()` and `runner.addresses` read;
    aiohttp's own TCPSite, UnixSite and SockSite do exactly this (tests/httpguard/test_guard.py
    fails if that contract changes).
    """

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        *,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._guarded_runner = runner
        self.host = host
        self.requested_port = port
        self.guard = guard

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port (the requested one until started; port 0 picks a free one)."""
        server = self._server
        sockets = getattr(server, "sockets", None) or ()
        return int(sockets[0].getsockname()[1]) if sockets else self.requested_port

    async def start(self) -> None:
        await super().start()  # registers the site with its runner
        server = self._guarded_runner.server
        if server is None:
            msg = "call runner.setup() before starting a site"
            raise RuntimeError(msg)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.factory(server), self.host, self.requested_port, backlog=self._backlog
        )
