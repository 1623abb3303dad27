"""How the sender talks to Telegram: one claimed notification -> one Bot API call.

`deliver` maps an outbox payload (see `services.outbox.notifications`) onto aiogram's `Bot`;
`Delivery` performs a claimed notification with it, uploading a chart once and re-sending it
by its Telegram file_id afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import FSInputFile, InlineKeyboardMarkup, InputFile, Message, ReplyParameters

from jobs.outbox.shield import Shield
from services.outbox import notifications
from services.outbox.notifications import Claimed

log = logging.getLogger("jobs.outbox.sender")  # the sender's one logger, whichever module logs


@dataclass(frozen=True, slots=True)
class Delivered:
    """What Telegram answered: the message id, and the stored photo's file_id for uploads."""

    message_id: int | None
    photo_file_id: str | None = None


def _markup(payload: Mapping[str, Any]) -> InlineKeyboardMarkup | None:
    raw = payload.get("reply_markup")
    return InlineKeyboardMarkup.model_validate(raw) if raw else None


def _from_message(answer: Message | bool, fallback: int | None) -> Delivered:
    if not isinstance(answer, Message):
        return Delivered(fallback)
    file_id = answer.photo[-1].file_id if answer.photo else None
    return Delivered(answer.message_id, file_id)


def photo_input(source: Mapping[str, Any]) -> InputFile | str:
    """A payload's `photo` without a chart: a file_id as is, a path as an upload."""
    if source.get("file_id"):
        return str(source["file_id"])
    return FSInputFile(Path(str(source["path"])))


async def deliver(
    bot: Bot,
    chat_id: int,
    payload: Mapping[str, Any],
    *,
    reply_to: int | None = None,
    target: int | None = None,
    photo: InputFile | str | None = None,
) -> Delivered:
    """Perform one payload: `reply_to`/`target` are resolved message ids, `photo` the file."""
    method = payload["method"]
    parse_mode = payload.get("parse_mode")
    quiet = True if payload.get("disable_notification") else None  # the user's "silent"
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to
        else None
    )
    if method == "send_message":
        answer: Message | bool = await bot.send_message(
            chat_id,
            payload["text"],
            parse_mode=parse_mode,
            reply_markup=_markup(payload),
            reply_parameters=reply,
            disable_notification=quiet,
        )
    elif method == "send_photo":
        answer = await bot.send_photo(
            chat_id,
            photo if photo is not None else photo_input(payload["photo"]),
            caption=payload.get("caption"),
            parse_mode=parse_mode,
            reply_markup=_markup(payload),
            reply_parameters=reply,
            disable_notification=quiet,
        )
    else:
        answer = await _change(bot, chat_id, target, payload)
    return _from_message(answer, target)


async def _change(
    bot: Bot, chat_id: int, target: int | None, payload: Mapping[str, Any]
) -> Message | bool:
    if target is None:
        msg = f"{payload['method']} needs the target message id"
        raise ValueError(msg)
    method, markup, parse_mode = payload["method"], _markup(payload), payload.get("parse_mode")
    if method == "edit_text":
        return await bot.edit_message_text(
            text=payload["text"],
            chat_id=chat_id,
            message_id=target,
            parse_mode=parse_mode,
            reply_markup=markup,
        )
    if method == "edit_caption":
        return await bot.edit_message_caption(
            chat_id=chat_id,
            message_id=target,
            caption=payload.get("caption"),
            parse_mode=parse_mode,
            reply_markup=markup,
        )
    if method == "edit_markup":
        return await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=target, reply_markup=markup
        )
    if method == "delete":
        return await bot.delete_message(chat_id, target)
    msg = f"unknown payload method {method!r}"
    raise ValueError(msg)


class Delivery:
    """Performs claimed notifications through `bot`; owns the chart file_id cache."""

    def __init__(self, bot: Bot, shield: Shield) -> None:
        self.bot = bot
        self._shield = shield
        self._chart_ids: dict[int, str] = {}
        self._chart_locks: dict[int, asyncio.Lock] = {}

    async def __call__(self, item: Claimed) -> Delivered:
        source = item.payload.get("photo") or {}
        if item.payload["method"] == "send_photo" and "chart_id" in source:
            return await self._deliver_chart(item, int(source["chart_id"]))
        return await deliver(
            self.bot,
            item.chat_id,
            item.payload,
            reply_to=item.reply_to_message_id,
            target=item.target_message_id,
        )

    async def _deliver_chart(self, item: Claimed, chart_id: int) -> Delivered:
        """Upload a chart once; concurrent sends of it wait for the first upload's file_id."""
        if (file_id := self._chart_ids.get(chart_id)) is None:
            lock = self._chart_locks.setdefault(chart_id, asyncio.Lock())
            async with lock:
                if (file_id := self._chart_ids.get(chart_id)) is None:
                    chart = await self._shield.run(notifications.chart_ref(chart_id))
                    if chart.file_id is None:
                        delivered = await self._send_photo(item, FSInputFile(chart.path))
                        if delivered.photo_file_id:
                            self._chart_ids[chart_id] = delivered.photo_file_id
                            await self._remember_chart(chart_id, delivered.photo_file_id)
                        return delivered
                    file_id = self._chart_ids[chart_id] = chart.file_id
        return await self._send_photo(item, file_id)

    async def _remember_chart(self, chart_id: int, file_id: str) -> None:
        """The photo is delivered whatever happens here: a failure must not cause a resend."""
        try:
            await self._shield.run(notifications.remember_chart_file_id(chart_id, file_id))
        except Exception:
            log.warning("outbox: could not store a chart's file_id", exc_info=True)

    async def _send_photo(self, item: Claimed, photo: FSInputFile | str) -> Delivered:
        return await deliver(
            self.bot, item.chat_id, item.payload, reply_to=item.reply_to_message_id, photo=photo
        )
