"""The emulator as an aiohttp application: standalone (tests) or mounted under the main app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

from aiohttp import web

from httpguard import ConnectionGuard, GuardedSite, ReadLimits, read_bounds
from tgemu.botapi import EMULATOR, add_bot_api_routes
from tgemu.client import EmulatorClient
from tgemu.control import add_control_routes
from tgemu.control_io import make_middleware
from tgemu.guard import new_control_token
from tgemu.state import Emulator
from tgemu.webhook import WebhookDeliverer, running

DEFAULT_TOKEN = "123456789:SANDBOX-emulator-token"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for bot uploads
DELIVERER: web.AppKey[WebhookDeliverer] = web.AppKey("webhook_deliverer", WebhookDeliverer)
CONTROL_TOKEN: web.AppKey[str] = web.AppKey("control_token", str)


def create_emulator_app(
    emulator: Emulator,
    *,
    loopback_only: bool = True,
    control_token: str | None = None,
    webhook_backoff_s: tuple[float, float] = (0.05, 2.0),
    limits: ReadLimits | None = None,
) -> web.Application:
    """Bot API at `/bot{token}/{method}`, files at `/file/bot{token}/...`, control at `/_control/`.

    Mount it as a sub-app (`app.add_subapp("/emulator/", create_emulator_app(emu))`) or run it
    alone with `start_emulator`. Its webhook delivery task lives and dies with the app.
    Control requests need `control_token` (a fresh one per app when not given:
    `app[CONTROL_TOKEN]`) in the `X-Control-Token` header; see `tgemu.guard`. Request
    bodies have the same time bound as the app's (`httpguard`; mounted, the host's applies).
    """
    token = control_token or new_control_token()
    app = web.Application(
        middlewares=[
            read_bounds(limits or ReadLimits()),
            make_middleware(loopback_only=loopback_only, control_token=token),
        ],
        client_max_size=MAX_UPLOAD_BYTES,
    )
    app[EMULATOR] = emulator
    app[CONTROL_TOKEN] = token
    app[DELIVERER] = WebhookDeliverer(emulator, backoff_s=webhook_backoff_s)
    add_bot_api_routes(app)
    add_control_routes(app)
    app.cleanup_ctx.append(_deliver_webhooks)
    app.on_shutdown.append(_release_waiters)
    return app


async def _deliver_webhooks(app: web.Application) -> AsyncIterator[None]:
    app[EMULATOR].closing = False
    async with running(app[DELIVERER]):
        yield


async def _release_waiters(app: web.Application) -> None:
    """Long polls (getUpdates, transcripts) answer at once so shutdown does not wait for them."""
    app[EMULATOR].close()


class EmulatorServer:
    """A standalone emulator on loopback: `async with EmulatorServer() as server: server.url`."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        emulator: Emulator | None = None,
        control_token: str | None = None,
        limits: ReadLimits | None = None,
        **emulator_options: Any,
    ) -> None:
        self.emulator = emulator or Emulator(token, **emulator_options)
        self.limits = limits or ReadLimits()  # header/body deadlines and the cap, as the app's
        self.host = host
        self.port = port
        self.control_token = control_token or new_control_token()
        self.runner: web.AppRunner | None = None
        self.url = ""

    def client(self) -> EmulatorClient:
        """A control client for this server (it carries the control token)."""
        return EmulatorClient(self.url, token=self.control_token)

    async def start(self) -> str:
        limits = self.limits
        app = create_emulator_app(
            self.emulator,
            control_token=self.control_token,
            webhook_backoff_s=(0.02, 0.5),
            limits=limits,
        )
        self.runner = web.AppRunner(
            app, shutdown_timeout=2.0, access_log=None, **limits.runner_kwargs()
        )
        await self.runner.setup()
        site = GuardedSite(self.runner, self.host, self.port, ConnectionGuard(limits))
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def start_emulator(
    host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN, **emulator_options: Any
) -> tuple[web.AppRunner, str, Emulator]:
    """Start an emulator; returns (runner, base_url, emulator). Stop with `runner.cleanup()`.
    (Its control API then needs `runner.app[CONTROL_TOKEN]`.)"""
    server = EmulatorServer(token, host=host, port=port, **emulator_options)
    base_url = await server.start()
    assert server.runner is not None  # noqa: S101 - start() sets it
    return server.runner, base_url, server.emulator
