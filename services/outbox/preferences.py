"""Notification preferences: for each kind of notification a user hears about, on (sent with
sound), silent (sent with `disable_notification`) or off (never queued).

The outbox honours them where every notification is queued (`notifications.enqueue_many`), so
no producer can forget: each typed message maps to one `Category` (`category_of`), or to none
(edits of a card already sent, access and billing notices other than reminders, replies the
user asked for, operations alerts: always sent as they are). A chat that is no user's (a
channel) has no preferences. The Mini App's Settings page reads and writes them (`get`, `set`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from core import clock
from models.notifications import DeliveryMode, NotificationPreference
from models.users import User
from services.errors import NotFound
from services.outbox.kinds import (
    BillingNotice,
    Fill,
    FreeSummary,
    Notice,
    PositionClosed,
    PriceAlertFired,
    SignalCard,
    SignalUpdate,
    TerminalAlert,
)

CHUNK = 500  # chats per preference query


class Category(StrEnum):
    """The kinds of notification a user chooses for (stored in `notification_preferences`)."""

    NEW_SIGNAL = "new_signal"
    REVISION = "revision"
    FILL = "fill"
    OUTCOME = "outcome"
    EXPIRY = "expiry"
    TERMINAL = "terminal"
    REMINDER = "reminder"
    ALERT = "alert"  # the user's own price alerts


REVISIONS = frozenset({"revised", "replaced"})


def category_of(notice: Notice) -> Category | None:
    """The preference that governs `notice` (None: always sent as it is)."""
    match notice:
        case SignalCard() | FreeSummary():
            return Category.NEW_SIGNAL
        case SignalUpdate(event=event):
            if event in REVISIONS:
                return Category.REVISION
            if event == "filled":
                return Category.FILL
            return Category.EXPIRY if event == "expired" else Category.OUTCOME
        case Fill():
            return Category.FILL
        case PositionClosed():
            return Category.OUTCOME
        case TerminalAlert():
            return Category.TERMINAL
        case BillingNotice(event="reminder"):
            return Category.REMINDER
        case PriceAlertFired():
            return Category.ALERT
        case _:
            return None


def defaults() -> dict[Category, DeliveryMode]:
    return dict.fromkeys(Category, DeliveryMode.ON)


async def get(telegram_id: int) -> dict[Category, DeliveryMode]:
    """Every category's mode for the user (ON where they chose nothing)."""
    found = await modes_for([telegram_id])
    return {**defaults(), **found.get(telegram_id, {})}


async def set_modes(
    telegram_id: int, changes: Mapping[Category, DeliveryMode]
) -> dict[Category, DeliveryMode]:
    """Store the user's choices (the others stay as they are); returns all of them."""
    user = await User.get_or_none(telegram_id=telegram_id).only("id")
    if user is None:
        raise NotFound("error.user_not_found")
    now = clock.now()
    for category, mode in changes.items():
        updated = await NotificationPreference.filter(user_id=user.id, kind=category.value).update(
            mode=mode, updated_at=now
        )
        if not updated:
            await NotificationPreference.create(
                user_id=user.id, kind=category.value, mode=mode, updated_at=now
            )
    return await get(telegram_id)


async def modes_for(chat_ids: Iterable[int]) -> dict[int, dict[Category, DeliveryMode]]:
    """The stored (not default) choices of the users whose private chats these are."""
    ids = sorted({c for c in chat_ids if c > 0})  # group and channel ids are negative
    out: dict[int, dict[Category, DeliveryMode]] = {}
    known = {c.value for c in Category}
    for start in range(0, len(ids), CHUNK):
        rows = await NotificationPreference.filter(
            user__telegram_id__in=ids[start : start + CHUNK]
        ).values_list("user__telegram_id", "kind", "mode")
        for tid, kind, mode in rows:
            if str(kind) in known:
                out.setdefault(int(str(tid)), {})[Category(str(kind))] = DeliveryMode(str(mode))
    return out
