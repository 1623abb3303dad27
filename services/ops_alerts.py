"""Ops alerts to the owners' private chats, through the outbox like everything else.

Deduplicated by (key, time bucket): the same problem is reported at most once per interval,
across restarts and replicas, because the bucket is part of the outbox's unique dedupe key.
An alert is a `Phrase` (a message id with typed parameters): each owner reads it in the
language they saved (English for an owner the bot has not met yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from core.clock import timestamp
from models.users import User
from services.outbox import notifications as outbox
from services.outbox.kinds import OpsAlert
from services.text.formatting import Phrase
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)
# Alerts raised by the assembly and the error router (the others sit beside their cause).
GAVE_UP = _("ops.gave_up")  # {kind}, {chat}, {error}
HANDLER_ERROR = _("ops.handler_error")  # {error_type}, {ref}, {error}


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

    async def alert(self, key: str, text: Phrase) -> bool:
        """Queue `text` for every owner, in their language, unless `key` was already alerted
        in this interval."""
        bucket = int(self.clock() // self.interval_s)
        try:
            languages = await self._languages()
            items = [
                outbox.Outgoing(
                    chat_id=owner,
                    message=OpsAlert(languages.get(owner), text),
                    dedupe_key=f"ops:{key[:100]}:{bucket}:{owner}",
                    user_id=owner,
                    priority=0,
                )
                for owner in self.owners
            ]
            queued = await outbox.enqueue_many(items)
        except Exception:  # the alert path must never raise into the failing code path
            log.exception("could not queue an ops alert", extra={"key": key})
            return False
        if queued and self.wake is not None:
            self.wake()
        return queued > 0

    async def _languages(self) -> dict[int, str]:
        rows = await User.filter(telegram_id__in=self.owners).values_list(
            "telegram_id", "language"
        )
        return {int(tid): str(language) for tid, language in rows if language}
