"""The emulator as an aiohttp application, standalone on loopback or mounted in another app."""

from __future__ import annotations

from collections import OrderedDict
from types import TracebackType
from typing import Any

from aiohttp import web

from stripeemu.api import EMULATOR, IDEMPOTENCY, add_api_routes
from stripeemu.control import add_control_routes
from stripeemu.emulator import StripeEmulator
from stripeemu.pages import add_page_routes


def create_app(emulator: StripeEmulator) -> web.Application:
    """`/v1/...` (the API), `/_control/...` (actions), `/c/pay/...` and `/p/session/...` (pages).

    Set `emulator.public_url` to where it is reachable so session URLs point back at it."""
    app = web.Application(client_max_size=1024 * 1024)
    app[EMULATOR] = emulator
    app[IDEMPOTENCY] = OrderedDict()
    add_api_routes(app)
    add_control_routes(app)
    add_page_routes(app)
    app.on_cleanup.append(_close)
    return app


async def _close(app: web.Application) -> None:
    await app[EMULATOR].close()


class StripeEmuServer:
    """`async with StripeEmuServer(webhook_url=...) as server:` then
    `StripeClient(server.secret_key, base_addresses={"api": server.url})`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        emulator: StripeEmulator | None = None,
        **emulator_options: Any,
    ) -> None:
        self.emulator = emulator or StripeEmulator(**emulator_options)
        self.host = host
        self.port = port
        self.runner: web.AppRunner | None = None
        self.url = ""

    @property
    def secret_key(self) -> str:
        return self.emulator.secret_key

    @property
    def webhook_secret(self) -> str:
        return self.emulator.webhook_secret

    async def start(self) -> str:
        self.runner = web.AppRunner(
            create_app(self.emulator), access_log=None, shutdown_timeout=2.0
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        if not self.emulator.public_url:
            self.emulator.public_url = self.url
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def __aenter__(self) -> StripeEmuServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
