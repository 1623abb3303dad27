"""The sender's Bot API calls: one claimed notification through `jobs.outbox.transport.deliver`, a
chart uploaded once and then re-sent by its Telegram file_id. A mixin of `jobs.outbox.sender.Sender`,
whose `__init__` sets the state declared here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from aiogram import Bot
from aiogram.types import FSInputFile

from jobs.outbox.transport import Delivered, deliver
from services.outbox import notifications
from services.outbox.notifications import Claimed

log = logging.getLogger("jobs.outbox.sender")  # the sender's one logger, whichever module logs
T = TypeVar("T")


class DeliveryMixin:
    """How `Sender` sends one claimed notification: `_deliver`."""

    bot: Bot
    _chart_ids: dict[int, str]
    _chart_locks: dict[int, asyncio.Lock]

    if TYPE_CHECKING:

        async def _db(self, operation: Awaitable[T]) -> T: ...

    async def _deliver(self, item: Claimed) -> Delivered:
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
                    chart = await self._db(notifications.chart_ref(chart_id))
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
            await self._db(notifications.remember_chart_file_id(chart_id, file_id))
        except Exception:
            log.warning("outbox: could not store a chart's file_id", exc_info=True)

    async def _send_photo(self, item: Claimed, photo: FSInputFile | str) -> Delivered:
        return await deliver(
            self.bot, item.chat_id, item.payload, reply_to=item.reply_to_message_id, photo=photo
        )
