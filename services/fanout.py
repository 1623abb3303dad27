"""Who hears about a signal, in which form: the fan-out of signal events into the outbox.

Called inside the transaction of the state change (services/signals.py), so the change and its
notifications commit together. Paid users get the full card with a chart and buttons at once;
free users a levels-free summary after a delay; routed channels the public card without buttons.
Changes are a reply to the original card plus an in-place edit of its status line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from models.notifications import Notification
from models.signals import ChannelRoute
from models.users import Role, User, UserStatus
from services import app_settings
from services import notifications as outbox
from services.charts import ensure_chart
from services.signal_views import (
    SignalView,
    free_text,
    full_text,
    signal_keyboard,
    update_text,
    upgrade_keyboard,
)

CHART_DIR = Path("data/charts")
ChartRenderer = Callable[[SignalView], bytes]
PAID_ROLES = (Role.SUBSCRIBER, Role.ADMIN, Role.OWNER)
CARD_KINDS = ("signal.new", "signal.channel")


def _key(view: SignalView, what: str, chat_id: int) -> str:
    return f"sig:{view.id}:{what}:{chat_id}"


async def _chart_id(view: SignalView, chart: ChartRenderer | None) -> int | None:
    if chart is None:
        return None
    ref = await ensure_chart(view.id, view.version, lambda: chart(view), CHART_DIR)
    return ref.id


def _card(
    text: str, chart_id: int | None, markup: dict[str, Any] | None, reply_to: str | None = None
) -> dict[str, Any]:
    if chart_id is not None:
        return outbox.photo(text, chart_id=chart_id, keyboard=markup, reply_to=reply_to)
    return outbox.text(text, keyboard=markup, reply_to=reply_to)


def _out(
    view: SignalView,
    chat_id: int,
    kind: str,
    payload: dict[str, Any],
    key: str,
    *,
    user: bool = True,
    priority: int = 5,
    not_before: datetime | None = None,
) -> outbox.Outgoing:
    return outbox.Outgoing(
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        dedupe_key=key,
        user_id=chat_id if user else None,
        signal_id=view.id,
        priority=priority,
        not_before=not_before,
    )


async def announce(view: SignalView, chart: ChartRenderer | None) -> int:
    """Queue the new signal for every reachable user and routed channel; returns the count."""
    visibility = await app_settings.visibility()
    free_at = datetime.now(UTC) + timedelta(hours=await app_settings.free_delay_hours())
    chart_id = await _chart_id(view, chart)
    users = await User.filter(status=UserStatus.ACTIVE).values_list(
        "telegram_id", "role", "language"
    )
    items: list[outbox.Outgoing] = []
    for tid, role, language in users:
        if Role(role) in PAID_ROLES:
            card = _card(
                full_text(view, language, visibility), chart_id, signal_keyboard(view, language)
            )
            items.append(_out(view, tid, "signal.new", card, _key(view, "new", tid), priority=1))
        else:
            summary = outbox.text(
                free_text(view, language), keyboard=upgrade_keyboard(language, "signal")
            )
            items.append(_out(view, tid, "signal.free", summary, _key(view, "free", tid),
                              priority=7, not_before=free_at))  # fmt: skip
    for route in await ChannelRoute.filter(symbol=view.symbol):
        card = _card(full_text(view, "en", visibility), chart_id, None)
        key = _key(view, "channel", route.chat_id)
        items.append(
            _out(view, route.chat_id, "signal.channel", card, key, user=False, priority=2)
        )
    return await outbox.enqueue_many(items)


async def announce_change(view: SignalView, event: str, chart: ChartRenderer | None) -> int:
    """Reply to each original card with what changed and edit its status line in place."""
    originals = await Notification.filter(signal_id=view.id, kind__in=CARD_KINDS).values(
        "chat_id", "user_id", "dedupe_key", "payload"
    )
    if not originals:
        return 0
    visibility = await app_settings.visibility()
    ids = [o["user_id"] for o in originals if o["user_id"] is not None]
    languages = dict(await User.filter(telegram_id__in=ids).values_list("telegram_id", "language"))
    chart_id = await _chart_id(view, chart) if event == "revised" else None
    stamp = f"{event}:v{view.version}"
    items: list[outbox.Outgoing] = []
    for orig in originals:
        chat, is_user, original = orig["chat_id"], orig["user_id"] is not None, orig["dedupe_key"]
        lang = languages.get(chat) if is_user else "en"
        reply = _card(
            update_text(view, lang, visibility, event), chart_id, None, reply_to=original
        )
        items.append(_out(view, chat, "signal.update", reply, _key(view, f"upd:{stamp}", chat),
                          user=is_user, priority=3))  # fmt: skip
        body = full_text(view, lang, visibility)
        markup = signal_keyboard(view, lang) if is_user else None
        if orig["payload"].get("method") == "send_photo":
            edit = outbox.edit_caption(original, body, keyboard=markup)
        else:
            edit = outbox.edit_text(original, body, keyboard=markup)
        items.append(_out(view, chat, "signal.edit", edit, _key(view, f"edit:{stamp}", chat),
                          user=is_user, priority=4))  # fmt: skip
    return await outbox.enqueue_many(items)
