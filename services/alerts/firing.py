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


BATCH = 500  # alert ids per UPDATE


class _Moved(Exception):
    """A row changed after the evaluator read it: the batch is redone one row at a time."""


async def record(hits: Sequence[Hit], price: Decimal, now: datetime) -> list[Fired]:
    """Store the firings of `hits` at `price` and queue their notifications (one transaction);
    returns those recorded (a hit whose row moved on meanwhile is left out).

    The rows are updated in batches of hits that share their firing count (one UPDATE per
    batch, after checking the batch's rows still have that count). When one moved on (rare),
    the transaction is rolled back and redone one row at a time, each UPDATE conditional on
    its count, which finds out which."""
    if not hits:
        return []
    try:
        return await _record(hits, price, now, batched=True)
    except _Moved:
        return await _record(hits, price, now, batched=False)


async def _record(
    hits: Sequence[Hit], price: Decimal, now: datetime, *, batched: bool
) -> list[Fired]:
    fired: list[Fired] = []
    async with outbox.transaction():
        users = {
            int(str(pk)): (int(str(tid)), None if lang is None else str(lang))
            for pk, tid, lang in await PriceAlert.filter(
                id__in=[h.alert_id for h in hits]
            ).values_list("id", "user__telegram_id", "user__language")
        }
        recorded = await (
            _update_batches(hits, price, now) if batched else _update_each(hits, price, now)
        )
        items = []
        for hit in hits:
            if hit.alert_id not in recorded or hit.alert_id not in users:
                continue
            number = hit.fired_count + 1
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
            bus.publish(LiveUpdate("alert", hit.alert_id, (telegram_id,)))  # after the commit
            fired.append(Fired(hit.alert_id, telegram_id, number))
        await outbox.enqueue_many(items)
    return fired


def _changes(price: Decimal, now: datetime, number: int, repeat: bool) -> dict[str, object]:
    return {
        "fired_count": number, "last_fired_at": now, "last_price": price, "updated_at": now,
        "state": AlertState.ACTIVE if repeat else AlertState.FIRED,
    }  # fmt: skip


async def _update_batches(hits: Sequence[Hit], price: Decimal, now: datetime) -> set[int]:
    """One UPDATE per batch of hits with the same count and kind, after reading the batch's
    rows locked (PostgreSQL; SQLite's one writer holds them for the transaction): `_Moved` when
    one is gone, not active or fired since (the caller's transaction rolls back). Both
    statements select by primary key alone: with the state in the WHERE of a long IN list,
    SQLite's planner scans the (state, symbol) index of every active alert instead."""
    groups: dict[tuple[int, bool], list[int]] = {}
    for hit in hits:
        groups.setdefault((hit.fired_count, hit.repeat), []).append(hit.alert_id)
    for (count, repeat), ids in groups.items():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = (
                await PriceAlert.filter(id__in=chunk)
                .select_for_update()
                .only("id", "state", "fired_count")
            )
            unchanged = [
                r for r in rows if r.state is AlertState.ACTIVE and r.fired_count == count
            ]
            if len(unchanged) != len(set(chunk)):
                raise _Moved
            await PriceAlert.filter(id__in=chunk).update(**_changes(price, now, count + 1, repeat))
    return {h.alert_id for h in hits}


async def _update_each(hits: Sequence[Hit], price: Decimal, now: datetime) -> set[int]:
    """One conditional UPDATE per hit: the ones whose row matched."""
    recorded = set()
    for hit in hits:
        updated = await PriceAlert.filter(
            id=hit.alert_id, state=AlertState.ACTIVE, fired_count=hit.fired_count
        ).update(**_changes(price, now, hit.fired_count + 1, hit.repeat))
        if updated:
            recorded.add(hit.alert_id)
    return recorded
