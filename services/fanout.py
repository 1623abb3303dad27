"""Who hears about a signal, in which form: the fan-out of signal events into the outbox.

Called inside the transaction of the state change (services/signals.py), so the change and its
notifications commit together. Paid users get the full card with a chart and buttons at once;
free users a levels-free summary after a delay; routed channels the public card without buttons.
Changes are a reply to the original card plus an in-place edit of its status line. Fills and
exits are told as the strategy's; a user's own execution is their terminal's message
(services/terminal_fills.py), and a user who approved with no terminal to execute is told so.

Each row carries its audience (services.entitlements): the sender asks again just before
sending, and swaps a card for the variant the user gets by then (`paid_card`, `free_summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from models.devices import Command, CommandType
from models.notifications import Notification
from models.signals import Approval, ChannelRoute, Decision
from models.users import Role, User, UserStatus
from services import app_settings, entitlements
from services import notifications as outbox
from services.charts import ensure_chart, existing_chart
from services.entitlements import Audience, Standing
from services.i18n import msgid as _
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
CARD_KINDS = ("signal.new", "signal.channel")
NO_EXECUTION = _("signal.note_no_execution")  # to approvers without an order on a terminal


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
    audience: Audience = Audience.PAID,
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
        audience=audience if user else None,
    )


def free_summary(view: SignalView, language: str | None) -> outbox.Payload:
    """The free tier's summary: no levels, an upgrade button."""
    return outbox.text(free_text(view, language), keyboard=upgrade_keyboard(language, "signal"))


async def paid_card(view: SignalView, language: str | None) -> outbox.Payload:
    """The paid card as it is now, with the chart of this version if one was rendered."""
    chart = await existing_chart(view.id, view.version)
    visibility = await app_settings.visibility()
    text = full_text(view, language, visibility)
    return _card(text, None if chart is None else chart.id, signal_keyboard(view, language))


async def free_delay() -> timedelta:
    return timedelta(hours=await app_settings.free_delay_hours())


async def announce(view: SignalView, chart: ChartRenderer | None) -> int:
    """Queue the new signal for every reachable user and routed channel; returns the count."""
    visibility = await app_settings.visibility()
    free_at = datetime.now(UTC) + await free_delay()
    chart_id = await _chart_id(view, chart)
    users = await User.filter(status=UserStatus.ACTIVE).values_list(
        "telegram_id", "role", "status", "language"
    )
    items: list[outbox.Outgoing] = []
    for tid, role, status, language in users:
        standing = Standing(Role(role), UserStatus(status))
        if not entitlements.can_receive(standing):
            continue
        if entitlements.audience_for(standing) is Audience.PAID:
            card = _card(
                full_text(view, language, visibility), chart_id, signal_keyboard(view, language)
            )
            items.append(_out(view, tid, "signal.new", card, _key(view, "new", tid), priority=1))
        else:
            summary = free_summary(view, language)
            items.append(_out(view, tid, "signal.free", summary, _key(view, "free", tid),
                              priority=7, not_before=free_at, audience=Audience.FREE))  # fmt: skip
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
    unexecuted = await _approved_without_terminal(view.id) if event == "filled" else set()
    stamp = f"{event}:v{view.version}"
    items: list[outbox.Outgoing] = []
    for orig in originals:
        chat, is_user, original = orig["chat_id"], orig["user_id"] is not None, orig["dedupe_key"]
        lang = languages.get(chat) if is_user else "en"
        note = NO_EXECUTION if is_user and chat in unexecuted else ""
        reply = _card(
            update_text(view, lang, visibility, event, note), chart_id, None, reply_to=original
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


async def _approved_without_terminal(signal_id: int) -> set[int]:
    """Telegram ids of users who approved the signal but have no order for it on any terminal
    (none connected, or none in approval mode): the strategy's fill is not theirs."""
    approved = await Approval.filter(signal_id=signal_id, decision=Decision.APPROVED).values_list(
        "user__telegram_id", flat=True
    )
    ordered = await Command.filter(signal_id=signal_id, type=CommandType.OPEN).values_list(
        "device__user__telegram_id", flat=True
    )
    return {int(str(t)) for t in approved} - {int(str(t)) for t in ordered}
