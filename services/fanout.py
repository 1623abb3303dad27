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
from services.charts import ChartFailed, ensure_chart
from services.isolation import Faults, faults_of
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


async def _chart_id(view: SignalView, chart: ChartRenderer | None, faults: Faults) -> int | None:
    """The chart of this version; None without a renderer, or when rendering it failed (a
    fault: the cards go out as text)."""
    if chart is None:
        return None
    try:
        ref = await ensure_chart(view.id, view.version, lambda: chart(view), CHART_DIR)
    except ChartFailed as failed:
        await faults.record("fanout.chart", f"chart v{view.version}", view.id, failed.error)
        return None
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


async def announce(
    view: SignalView, chart: ChartRenderer | None, faults: Faults | None = None
) -> int:
    """Queue the new signal for every reachable user and routed channel; returns the count.
    Each card is rendered on its own: one that fails is a fault, the others still go."""
    faults = faults_of(faults)
    visibility = await app_settings.visibility()
    free_at = datetime.now(UTC) + timedelta(hours=await app_settings.free_delay_hours())
    chart_id = await _chart_id(view, chart, faults)
    users = await User.filter(status=UserStatus.ACTIVE).values_list(
        "telegram_id", "role", "language"
    )
    items: list[outbox.Outgoing] = []
    for tid, role, language in users:
        try:
            items.append(_user_card(view, tid, role, language, visibility, chart_id, free_at))
        except Exception as exc:  # this user's stored data cannot be rendered
            await faults.record("fanout.card", f"user {tid}", view.id, exc)
    for route in await ChannelRoute.filter(symbol=view.symbol):
        try:
            card = _valid(_card(full_text(view, "en", visibility), chart_id, None))
        except Exception as exc:
            await faults.record("fanout.card", f"chat {route.chat_id}", view.id, exc)
            continue
        key = _key(view, "channel", route.chat_id)
        items.append(
            _out(view, route.chat_id, "signal.channel", card, key, user=False, priority=2)
        )
    return await outbox.enqueue_many(items)


def _user_card(
    view: SignalView,
    tid: int,
    role: str,
    language: str | None,
    visibility: app_settings.Visibility,
    chart_id: int | None,
    free_at: datetime,
) -> outbox.Outgoing:
    """The card of one user: the full card for paid roles, a delayed summary for the rest."""
    if Role(role) in PAID_ROLES:
        card = _card(
            full_text(view, language, visibility), chart_id, signal_keyboard(view, language)
        )
        return _out(view, tid, "signal.new", _valid(card), _key(view, "new", tid), priority=1)
    summary = outbox.text(free_text(view, language), keyboard=upgrade_keyboard(language, "signal"))
    return _out(view, tid, "signal.free", _valid(summary), _key(view, "free", tid),
                priority=7, not_before=free_at)  # fmt: skip


def _valid(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload`, checked as the outbox will check it (so one bad card never fails the batch)."""
    outbox.validate_payload(payload)
    return payload


async def announce_change(
    view: SignalView, event: str, chart: ChartRenderer | None, faults: Faults | None = None
) -> int:
    """Reply to each original card with what changed and edit its status line in place; a
    chat whose update cannot be rendered is a fault, the others are told."""
    faults = faults_of(faults)
    originals = await Notification.filter(signal_id=view.id, kind__in=CARD_KINDS).values(
        "chat_id", "user_id", "dedupe_key", "payload"
    )
    if not originals:
        return 0
    visibility = await app_settings.visibility()
    ids = [o["user_id"] for o in originals if o["user_id"] is not None]
    languages = dict(await User.filter(telegram_id__in=ids).values_list("telegram_id", "language"))
    chart_id = await _chart_id(view, chart, faults) if event == "revised" else None
    items: list[outbox.Outgoing] = []
    for orig in originals:
        try:
            items += _change(view, event, orig, languages, visibility, chart_id)
        except Exception as exc:
            await faults.record("fanout.change", f"chat {orig['chat_id']}", view.id, exc)
    return await outbox.enqueue_many(items)


def _change(
    view: SignalView,
    event: str,
    orig: dict[str, Any],
    languages: dict[int, str | None],
    visibility: app_settings.Visibility,
    chart_id: int | None,
) -> list[outbox.Outgoing]:
    """The reply and the status-line edit for one original card."""
    stamp = f"{event}:v{view.version}"
    chat, is_user, original = orig["chat_id"], orig["user_id"] is not None, orig["dedupe_key"]
    lang = languages.get(chat) if is_user else "en"
    reply = _card(update_text(view, lang, visibility, event), chart_id, None, reply_to=original)
    body = full_text(view, lang, visibility)
    markup = signal_keyboard(view, lang) if is_user else None
    if orig["payload"].get("method") == "send_photo":
        edit = outbox.edit_caption(original, body, keyboard=markup)
    else:
        edit = outbox.edit_text(original, body, keyboard=markup)
    return [
        _out(view, chat, "signal.update", _valid(reply), _key(view, f"upd:{stamp}", chat),
             user=is_user, priority=3),
        _out(view, chat, "signal.edit", _valid(edit), _key(view, f"edit:{stamp}", chat),
             user=is_user, priority=4),
    ]  # fmt: skip
