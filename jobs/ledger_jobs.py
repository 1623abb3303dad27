"""The ledger's daily head post on the scheduler leader: the current head goes to the public
channel once a day (at LEDGER_HEAD_UTC_HOUR), unless that head was already posted there. Thin:
one service call (services.ledger.heads), logged. LEDGER_CHANNEL (an @username or chat id)
names the channel until the owner names one in chat; its chat id is looked up here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from jobs.ea_jobs import EaScheduler, safe_job
from services.errors import InvalidInput
from services.ledger import heads
from services.ledger.heads import Channel, Posted

log = logging.getLogger(__name__)


async def configured_channel(bot: Bot, ref: str | None) -> Channel | None:
    """LEDGER_CHANNEL as a channel, when set and no channel was named in chat."""
    if ref is None or await heads.channel() is not None:
        return None
    target: int | str = int(ref) if ref.lstrip("-").isdigit() else ref
    try:
        chat = await bot.get_chat(target)
    except TelegramAPIError as exc:
        log.warning("LEDGER_CHANNEL not found", extra={"channel": ref, "error": str(exc)})
        return None
    return Channel(chat.id, f"@{chat.username}" if chat.username else chat.title or ref)


async def post_head(bot: Bot, ref: str | None) -> Posted | None:
    """Post the head if there is a channel, an entry, and this head is not posted yet."""
    try:
        posted = await heads.publish(None, await configured_channel(bot, ref))
    except InvalidInput as refused:  # no channel named, or nothing in the ledger yet
        log.info("ledger head not posted", extra={"reason": refused.key})
        return None
    if posted.created:
        log.info("ledger head posted", extra={"seq": posted.head.seq})
    return posted


def ledger_head_job(bot: Bot, ref: str | None) -> Callable[[], Awaitable[None]]:
    async def ledger_head_post() -> None:
        await post_head(bot, ref)

    return ledger_head_post


def schedule_ledger(scheduler: EaScheduler, bot: Bot, ref: str | None, utc_hour: int) -> None:
    """The daily post, every day at `utc_hour`:00 UTC (a late start within an hour still runs)."""
    job = ledger_head_job(bot, ref)
    scheduler.add_job(
        safe_job(job, scheduler.running_jobs), "cron", hour=utc_hour, minute=0,
        id=job.__name__, misfire_grace_time=3600,
    )  # fmt: skip
