"""`python -m bot run`: migrate, then start the bot, the web server and (in sandbox) the emulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from bot.cli import CliError, CliFailure
from core.logs import setup_logging
from core.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="start the app (sandbox mode without BOT_TOKEN)")
    parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    parser.set_defaults(func=run)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    setup_logging(
        settings.log_level,
        json_output=settings.log_as_json,
        repeat_interval_s=settings.log_repeat_interval_s,
    )
    asyncio.run(_serve(settings, migrate=not args.no_migrate))
    return 0


async def _serve(settings: Settings, *, migrate: bool) -> None:
    from bot.app import AppRunner, StartupError
    from bot.sandbox import SandboxExtension

    runner = AppRunner(settings, migrate=migrate)
    if settings.sandbox:
        runner.extensions.append(SandboxExtension())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await runner.start()
    except StartupError as exc:
        msg = f"could not start: {exc}"
        raise CliFailure(msg) from None
    if settings.sandbox:
        print(
            f"\n  SignalDesk sandbox: open {runner.base_url}/sandbox  (loopback only)\n",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.stop()
