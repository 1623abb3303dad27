"""Helpers shared by the emulator tests: aiogram's Bot on the emulator, polling, test images."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

TOKEN = "123456789:TEST-emulator-token"
USER_ID = 1000002
OTHER_ID = 1000003


class _QuickSession(AiohttpSession):
    """aiogram's session without the 250 ms TLS grace sleep on close (loopback, plain HTTP)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(base_url: str, token: str = TOKEN) -> Bot:
    """aiogram's real Bot, pointed at an emulator (`base_url` as for TelegramAPIServer)."""
    session = _QuickSession(api=TelegramAPIServer.from_base(base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


@contextlib.asynccontextmanager
async def polling(dp: Dispatcher, telegram_bot: Bot) -> AsyncIterator[None]:
    """Run aiogram's real long-polling loop for the duration of the block."""
    task = asyncio.create_task(
        dp.start_polling(telegram_bot, handle_signals=False, close_bot_session=False)
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
