"""Ops alerts to the owners' private chats, through the outbox like everything else.

Deduplicated by (key, time bucket): the same problem is reported at most once per interval,
across restarts and replicas, because the bucket is part of the outbox's unique dedupe key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from core.clock import timestamp
from services.outbox import notifications as outbox

log = logging.getLogger(__name__)


class OpsAlerts:
    def __init__(
        self,
        owners: Iterable[int],
        interval_s: float = 300.0,
        clock: Callable[[], float] = timestamp,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.owners = tuple(owners)
        self.interval_s = max(interval_s, 1.0)
        self.clock = clock
        self.wake = wake

    async def alert(self, key: str, text: str) -> bool:
        """Queue `text` for every owner unless `key` was already alerted in this interval."""
        bucket = int(self.clock() // self.interval_s)
        items = [
            outbox.Outgoing(
                chat_id=owner,
                kind="ops.alert",
                payload=outbox.text(text[:4000], parse_mode=None),
                dedupe_key=f"ops:{key[:100]}:{bucket}:{owner}",
                user_id=owner,
                priority=0,
            )
            for owner in self.owners
        ]
        try:
            queued = await outbox.enqueue_many(items)
        except Exception:  # the alert path must never raise into the failing code path
            log.exception("could not queue an ops alert", extra={"key": key})
            return False
        if queued and self.wake is not None:
            self.wake()
        return queued > 0
