"""Outermost middleware: a correlation id per update, metrics, and a log line on failure.

An update of no type this aiogram knows (a newer Bot API, or a hand-made `{"update_id": 5}`)
is nobody's error: one INFO line, and it goes no further (the webhook answers 200, so Telegram
does not redeliver it; no traceback, no ops alert).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from core import metrics
from core.logs import correlation_id, new_correlation_id
from middlewares.data import typed

log = logging.getLogger(__name__)


class CorrelationMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        cid = new_correlation_id()
        token = correlation_id.set(cid)
        typed(data)["correlation_id"] = cid
        try:
            kind = event.event_type if isinstance(event, Update) else type(event).__name__
        except UpdateTypeLookupError:
            _ignore_unknown(event)
            correlation_id.reset(token)
            return UNHANDLED
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            metrics.UPDATES.labels(kind).inc()
            metrics.HANDLER_LATENCY.labels(kind).observe(time.perf_counter() - started)
            correlation_id.reset(token)


def _ignore_unknown(update: Any) -> None:
    fields = sorted((update.model_extra or {}).keys()) if hasattr(update, "model_extra") else []
    log.info(
        "update of no known type ignored",
        extra={"update_id": update.update_id, "fields": fields},
    )
    metrics.UPDATES.labels("unknown").inc()
