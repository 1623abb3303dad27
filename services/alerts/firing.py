"""Recording that alerts fired: the row's state and firing count and the outbox notification
in one transaction, so a firing is either wholly stored (and will be sent) or not at all.

Exactly once per crossing: the n-th firing of alert A updates its row only where
`fired_count` is still n - 1 and the alert is active (a second evaluator, a retry after a
failed commit, a deletion meanwhile: the update matches no row and nothing is queued), and its
notification's dedupe key is ``alert:A:n`` (the outbox refuses a second row with that key).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core import bus
from models.alerts import AlertState, PriceAlert
from services.events import LiveUpdate
from services.outbox import notifications as outbox
from services.outbox.kinds import PriceAlertFired
from services.text.formatting import Duration, Phrase, Price, phrase
from services.text.i18n import msgid as _

PRIORITY = 3  # before bulk signal fan-out: an alert is about a price now


@dataclass(frozen=True, slots=True)
class Hit:
    """An alert the evaluator saw fire, with what it knew of it (`fired_count` before)."""

    alert_id: int
    fired_count: int
    symbol: str
    level: Decimal
    digits: int
    note: str
    repeat: bool
    cooldown_s: int
    rising: bool  # the price came from below the level


@dataclass(frozen=True, slots=True)
class Fired:
    alert_id: int
    telegram_id: int
    number: int  # its n-th firing


def message(hit: Hit, price: Decimal) -> Phrase:
    """What the user reads: the symbol, the level, the price now, the note, what happens next."""
    tail = (
        phrase(_("alerts.fired_repeat"), cooldown=Duration(_seconds(hit.cooldown_s), "minute"))
        if hit.repeat
        else phrase(_("alerts.fired_once"))
    )
    note = phrase(_("alerts.fired_note"), note=html.escape(hit.note)) if hit.note else ""
    key = _("alerts.fired_up") if hit.rising else _("alerts.fired_down")
    return phrase(
        key, symbol=hit.symbol, level=Price(hit.level, hit.digits),
        price=Price(price, hit.digits), note=note, tail=tail,
    )  # fmt: skip


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


async def record(hits: Sequence[Hit], price: Decimal, now: datetime) -> list[Fired]:
    """Store the firings of `hits` at `price` and queue their notifications (one transaction);
    returns those recorded (a hit whose row moved on meanwhile is left out)."""
    if not hits:
        return []
    fired: list[Fired] = []
    async with outbox.transaction():
        ids = [h.alert_id for h in hits]
        users = {
            int(str(pk)): (int(str(tid)), None if lang is None else str(lang))
            for pk, tid, lang in await PriceAlert.filter(id__in=ids).values_list(
                "id", "user__telegram_id", "user__language"
            )
        }
        items = []
        for hit in hits:
            number = hit.fired_count + 1
            updated = await PriceAlert.filter(
                id=hit.alert_id, state=AlertState.ACTIVE, fired_count=hit.fired_count
            ).update(
                fired_count=number, last_fired_at=now, last_price=price, updated_at=now,
                state=AlertState.ACTIVE if hit.repeat else AlertState.FIRED,
            )  # fmt: skip
            if not updated or hit.alert_id not in users:
                continue
            telegram_id, language = users[hit.alert_id]
            items.append(
                outbox.Outgoing(
                    chat_id=telegram_id,
                    user_id=telegram_id,
                    priority=PRIORITY,
                    message=PriceAlertFired(language, message(hit, price)),
                    dedupe_key=f"alert:{hit.alert_id}:{number}",
                )  # fmt: skip
            )
            bus.publish(LiveUpdate("alert", hit.alert_id, (telegram_id,)))
            fired.append(Fired(hit.alert_id, telegram_id, number))
        await outbox.enqueue_many(items)
    return fired
