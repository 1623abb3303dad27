"""Helpers for the sender tests: a fast sender configuration, start/stop, waiting, transcripts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot

from core import bus
from core.bus import Bus
from jobs.outbox.buckets import SenderLimits
from jobs.outbox.sender import Sender, SenderConfig
from models.notifications import Notification
from models.users import Role
from services.events import OutboxChanged
from services.outbox import notifications as outbox
from services.outbox.queue import OutboxStats
from services.users import profiles as users
from tests.waiting import until
from tgemu import EmulatorServer
from tgemu.models import MessageRec

# Telegram's limits scaled up so tests take fractions of a second; the sender stays at or
# below what the emulator enforces when a test turns its limits on (see `emulator_limits`).
LIMITS = SenderLimits(
    global_per_s=200.0,
    global_burst=50.0,
    per_chat_per_s=20.0,
    per_chat_burst=1.0,
    per_group_per_min=1200.0,
    group_burst=5.0,
)
FAST = SenderConfig(
    limits=LIMITS,
    max_in_flight=32,
    poll_s=0.05,
    cycle_s=0.005,
    horizon_s=0.05,
    flush_s=0.02,
    backoff_base_s=0.02,
    backoff_cap_s=0.1,
    max_attempts=4,
)


def emulator_limits(server: EmulatorServer) -> None:
    """The emulator enforcing the limits the sender runs with (its own bursts: 3 per chat)."""
    server.emulator.limits.configure(
        enabled=True,
        global_per_s=LIMITS.global_per_s,
        per_chat_per_s=LIMITS.per_chat_per_s,
        per_group_per_min=LIMITS.per_group_per_min,
    )


@asynccontextmanager
async def running(bot: Bot, config: SenderConfig = FAST, **options: Any) -> AsyncIterator[Sender]:
    """A started sender woken by every enqueue; stopped gracefully at the end."""
    sender = Sender.build(bot, config, **options)
    await sender.start()
    events = bus.active() or Bus()
    token = events.activate()
    unsubscribe = events.subscribe(OutboxChanged, lambda _event: sender.wake())
    try:
        yield sender
    finally:
        unsubscribe()
        with contextlib.suppress(ValueError):
            Bus.deactivate(token)
        await sender.stop()


async def drained() -> OutboxStats:
    """Wait until nothing is PENDING or SENDING (results flushed)."""
    return await until(
        outbox.stats,
        "the outbox drained (nothing pending or sending)",
        accept=lambda stats: stats.pending == 0 and stats.sending == 0,
    )


async def subscribers(server: EmulatorServer, count: int, first: int = 5_000_000) -> list[int]:
    """Users known to both the emulator (they started the bot) and the database."""
    ids = [first + i for i in range(count)]
    for telegram_id in ids:
        server.emulator.add_user(telegram_id, f"Sub {telegram_id}")
        await users.seed(telegram_id, f"Sub {telegram_id}", None, Role.SUBSCRIBER)
    return ids


def bot_messages(server: EmulatorServer, chat_id: int) -> list[MessageRec]:
    """The bot's messages in a chat as the emulator recorded them, in order (deleted too)."""
    messages = server.emulator.messages.get(chat_id, {})
    return [messages[key] for key in sorted(messages) if messages[key].from_bot]


async def rows() -> dict[str, Notification]:
    return {row.dedupe_key: row for row in await Notification.all()}
