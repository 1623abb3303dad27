"""The outbox's last question before a message goes out: is it still for this user?

Notifications are rendered when the change they announce commits, sometimes long before they
are sent (a free user's summary waits hours). Each row carries its audience
(`services.users.entitlements.Audience`); the sender hands every claimed batch to `screen` just before
sending, which reads the recipients' role and status from the database (never a cache) and asks
the entitlement service. A row whose audience no longer holds is swapped for the variant the
user gets now, or skipped with the reason recorded on the row:

- a free summary for a user promoted meanwhile: the full card while the signal is open (it then
  gets the signal's updates like any card), else nothing;
- a paid card for a user demoted meanwhile: the free summary, at the free tier's delay;
- an edit of a paid card for a user demoted meanwhile: the buttons removed (they no longer work);
- anything else (updates, outcomes, a banned user's messages): skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core import clock
from models.notifications import Notification, NotificationStatus
from models.users import CardStyle, Role, User, UserStatus
from services.billing import entitlements as billing
from services.errors import NotFound
from services.outbox import fanout
from services.outbox.kinds import ButtonsRemoved, Notice, kind_of, render
from services.outbox.payloads import validate_payload
from services.outbox.queue import ERROR_MAX, Claimed
from services.signals import lifecycle as signals
from services.signals.views import SignalView
from services.users import entitlements
from services.users.entitlements import Audience, Standing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Screening:
    """What `screen` let through (some swapped), and how many it swapped, deferred, skipped."""

    send: list[Claimed]
    swapped: int = 0
    deferred: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class _Variant:
    message: Notice
    audience: Audience
    at: datetime | None = None  # later than now: re-queued for then instead of sent

    @property
    def kind(self) -> str:
        return kind_of(self.message)


@dataclass(frozen=True, slots=True)
class _Recipient:
    standing: Standing
    language: str | None
    card_style: str = "full"


async def screen(items: Sequence[Claimed]) -> Screening:
    """Check each claimed row against its recipient's entitlement now; swap or skip the rest."""
    ids = list({item.user_id for item in items if item.user_id is not None})
    if not ids:
        return Screening(list(items))
    rows = await User.filter(telegram_id__in=ids).values_list(
        "id", "telegram_id", "role", "status", "language", "card_style"
    )
    access = await billing.access_for_many({uid: Role(r) for uid, _, r, *_ in rows},
                                           clock.now())  # fmt: skip
    users = {
        int(tid): _Recipient(
            Standing(Role(role), UserStatus(status), access[uid]), language, str(style)
        )
        for uid, tid, role, status, language, style in rows
    }
    views: dict[int, SignalView] = {}
    send: list[Claimed] = []
    swapped = deferred = skipped = 0
    for item in items:
        to = users.get(item.user_id) if item.user_id is not None else None
        audience = Audience(item.audience or Audience.ACTIVE)
        if to is None or entitlements.admits(audience, to.standing):
            send.append(item)  # not a user's chat, or one we have no row for: nothing to ask
            continue
        variant = await _variant(item, audience, to, views)
        if variant is None:
            await _skip(item, audience, to.standing)
            skipped += 1
        elif variant.at is not None and variant.at > clock.now():
            await _store(item, variant)
            deferred += 1
        else:
            payload = await _store(item, variant)
            send.append(replace(item, kind=variant.kind, payload=payload,
                                audience=variant.audience.value))  # fmt: skip
            swapped += 1
    return Screening(send, swapped, deferred, skipped)


async def _variant(
    item: Claimed, audience: Audience, to: _Recipient, views: dict[int, SignalView]
) -> _Variant | None:
    """What the user gets now instead of `item`, if anything."""
    if not entitlements.can_receive(to.standing) or item.signal_id is None:
        return None
    now = entitlements.audience_for(to.standing)
    if item.kind == "signal.free" and now is Audience.PAID:
        view = await _view(item.signal_id, views)
        if view is None or not view.is_open:
            return None  # the signal ended before its summary was due: /history has it
        return _Variant(
            await fanout.paid_card(view, to.language, CardStyle(to.card_style)), Audience.PAID
        )
    if item.kind == "signal.new" and now is Audience.FREE:
        view = await _view(item.signal_id, views)
        if view is None:
            return None
        at = await _queued_at(item.id) + await fanout.free_delay()
        return _Variant(fanout.free_summary(view, to.language), Audience.FREE, at)
    if item.kind == "signal.edit" and audience is Audience.PAID and item.payload.get("edit_of"):
        return _Variant(ButtonsRemoved(str(item.payload["edit_of"])), Audience.ACTIVE)
    return None


async def _view(signal_id: int, views: dict[int, SignalView]) -> SignalView | None:
    if signal_id not in views:
        try:
            views[signal_id] = await signals.get(signal_id)
        except NotFound:
            return None
    return views[signal_id]


async def _queued_at(notification_id: int) -> datetime:
    row = await Notification.get(id=notification_id).only("id", "created_at")
    return row.created_at


async def _store(item: Claimed, variant: _Variant) -> dict[str, Any]:
    """Store the variant on the row; returns its payload."""
    payload = render(variant.message)
    if item.payload.get("disable_notification"):  # the user's choice holds for the variant
        payload["disable_notification"] = True
    changes: dict[str, object] = {
        "kind": variant.kind,
        "payload": payload,
        "audience": variant.audience.value,
        "depends_on": validate_payload(payload),
    }
    if variant.at is not None:
        changes["next_attempt_at"] = variant.at
    await Notification.filter(id=item.id, status=NotificationStatus.PENDING).update(**changes)
    log.info(
        "outbox: swapped for the user's access now",
        extra={"id": item.id, "from": item.kind, "to": variant.kind, "user_id": item.user_id},
    )
    return payload


async def _skip(item: Claimed, audience: Audience, standing: Standing) -> None:
    reason = (
        f"not sent: meant for audience '{audience.value}', and the user is now "
        f"{standing.role.value} ({standing.status.value})"
    )
    await Notification.filter(id=item.id, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SKIPPED, last_error=reason[:ERROR_MAX]
    )
    log.info("outbox: skipped, no longer entitled", extra={"id": item.id, "kind": item.kind,
                                                            "user_id": item.user_id})  # fmt: skip
