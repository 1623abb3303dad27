"""The weekly drift report to the owners' private chats, through the outbox.

Once per ISO week: the report of the last complete week (`period.last_week`), one message per
owner in their saved language. Idempotent per week: the outbox's dedupe key
``drift:<year>-W<week>:<owner>`` is unique, and a week whose messages are all queued already is
not even recomputed, so the job may run every hour and after every restart or leader change.
A week with nothing to compare (no live signal closed and no backtest trade: the strategy had no
market data or no setup) sends nothing: an empty report every Monday would only be noise (and
`/drift` still answers on demand).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from models.notifications import Notification
from models.users import User
from services.analytics import drift, texts
from services.analytics.period import Period, last_week
from services.outbox import notifications as outbox
from services.outbox.kinds import PlainText

log = logging.getLogger(__name__)


def dedupe_key(period: Period, owner: int) -> str:
    return f"drift:{period.label}:{owner}"


async def _languages(owners: Sequence[int]) -> dict[int, str]:
    rows = await User.filter(telegram_id__in=list(owners)).values_list("telegram_id", "language")
    return {int(tid): str(language) for tid, language in rows if language}


async def send_weekly(
    owners: Sequence[int], now: datetime, wake: Callable[[], None] | None = None
) -> int:
    """Queue last week's drift report for every owner who has not got it yet; how many were
    queued (0: already done this week, a quiet week, or no owner)."""
    period = last_week(now)
    keys = {owner: dedupe_key(period, owner) for owner in owners}
    rows = await Notification.filter(dedupe_key__in=list(keys.values())).only("dedupe_key")
    done = {row.dedupe_key for row in rows}
    waiting = [owner for owner, key in keys.items() if key not in done]
    if not waiting:
        return 0
    report = await drift.drift(period)
    if report.live_signals == 0 and report.backtest_trades == 0:
        return 0  # a quiet week: nothing to report
    languages = await _languages(waiting)
    items = [
        outbox.Outgoing(
            chat_id=owner,
            message=PlainText(texts.drift_text(report, languages.get(owner))),
            dedupe_key=keys[owner],
            user_id=owner,
            priority=3,
        )
        for owner in waiting
    ]
    queued = await outbox.enqueue_many(items)
    log.info("weekly drift report queued", extra={"week": period.label, "owners": queued,
                                                   "verdict": report.verdict})  # fmt: skip
    if queued and wake is not None:
        wake()
    return queued
