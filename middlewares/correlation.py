"""Outermost middleware: a correlation id per update, metrics, and a log line on failure."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot import metrics
from bot.logs import correlation_id, new_correlation_id


class CorrelationMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        cid = new_correlation_id()
        token = correlation_id.set(cid)
        data["correlation_id"] = cid
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            metrics.UPDATES.labels(kind).inc()
            metrics.HANDLER_LATENCY.labels(kind).observe(time.perf_counter() - started)
            correlation_id.reset(token)
