"""Who hears about a signal, in which form: the fan-out of signal events into the outbox.

Called inside the transaction of the state change (services/signals/lifecycle.py), so the change and its
notifications commit together. Paid users get the full card with a chart and buttons at once;
free users a levels-free summary after a delay; routed channels the public card without buttons.
Changes are a reply to the original card plus an in-place edit of its status line. Fills and
exits are told as the strategy's; a user's own execution is their terminal's message
(services/terminals/fills.py), and a user who approved with no terminal to execute is told so.

Each row carries its audience (services.users.entitlements): the sender asks again just before
sending, and swaps a card for the variant the user gets by then (`paid_card`, `free_summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core import clock
from models.devices import Command, CommandType
from models.notifications import Notification
from models.signals import Approval, ChannelRoute, Decision
from models.users import CardStyle, Role, User, UserStatus
from services import app_settings
from services.billing import entitlements as billing
from services.isolation import Faults, faults_of
from services.outbox import notifications as outbox
from services.outbox.kinds import (
    CardEdit,
    ChannelCard,
    FreeSummary,
    Notice,
    SignalCard,
    SignalUpdate,
)
from services.signals.charts import ChartFailed, ensure_chart, existing_chart
from services.signals.views import SignalView
from services.text.i18n import msgid as _
from services.users import entitlements
from services.users.entitlements import Audience, Standing

CHART_DIR = Path("data/charts")
ChartRenderer = Callable[[SignalView], bytes]
CARD_KINDS = ("signal.new", "signal.channel")
NO_EXECUTION = _("signal.note_no_execution")  # to approvers without an order on a terminal


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


def _out(
    view: SignalView,
    chat_id: int,
    message: Notice,
    key: str,
    *,
    user: bool = True,
    priority: int = 5,
    not_before: datetime | None = None,
    audience: Audience = Audience.PAID,
) -> outbox.Outgoing:
    return outbox.Outgoing(
        chat_id=chat_id,
        message=message,
        dedupe_key=key,
        user_id=chat_id if user else None,
        signal_id=view.id,
        priority=priority,
        not_before=not_before,
        audience=audience if user else None,
    )


def free_summary(view: SignalView, language: str | None) -> FreeSummary:
    """The free tier's summary: no levels, an upgrade button."""
    return FreeSummary(view, language)


async def paid_card(
    view: SignalView, language: str | None, style: CardStyle = CardStyle.FULL
) -> SignalCard:
    """The paid card as it is now in the reader's card style, with the chart of this version
    if one was rendered (a full card)."""
    chart = await existing_chart(view.id, view.version)
    visibility = await app_settings.visibility()
    chart_id = None if chart is None else chart.id
    app_url = await app_settings.miniapp_url()
    return SignalCard(view, language, visibility, chart_id, app_url, _compact(style))


def _compact(style: str | None) -> bool:
    return style == CardStyle.COMPACT


async def free_delay() -> timedelta:
    return timedelta(hours=await app_settings.free_delay_hours())


async def announce(
    view: SignalView, chart: ChartRenderer | None, faults: Faults | None = None
) -> int:
    """Queue the new signal for every reachable user and routed channel; returns the count.
    Each card is rendered on its own: one that fails is a fault, the others still go."""
    faults = faults_of(faults)
    visibility = await app_settings.visibility()
    now = clock.now()
    free_at = now + await free_delay()
    chart_id = await _chart_id(view, chart, faults)
    app_url = await app_settings.miniapp_url()
    users = await User.filter(status=UserStatus.ACTIVE).values_list(
        "id", "telegram_id", "role", "status", "language", "card_style"
    )
    access = await billing.access_for_many({uid: Role(r) for uid, _, r, *_ in users}, now)
    items: list[outbox.Outgoing] = []
    for uid, tid, role, status, language, style in users:
        try:
            standing = Standing(Role(role), UserStatus(status), access[uid])
            if not entitlements.can_receive(standing):
                continue
            items.append(
                _user_card(view, tid, standing, language, visibility, chart_id, free_at,
                           app_url, compact=_compact(style))
            )  # fmt: skip
        except Exception as exc:  # this user's stored data cannot be rendered
            await faults.record("fanout.card", f"user {tid}", view.id, exc)
    for route in await ChannelRoute.filter(symbol=view.symbol):
        key = _key(view, "channel", route.chat_id)
        try:
            card = ChannelCard(view, visibility, chart_id)
            items.append(_valid(_out(view, route.chat_id, card, key, user=False, priority=2)))
        except Exception as exc:
            await faults.record("fanout.card", f"chat {route.chat_id}", view.id, exc)
    return await outbox.enqueue_many(items)


def _user_card(
    view: SignalView,
    tid: int,
    standing: Standing,
    language: str | None,
    visibility: app_settings.Visibility,
    chart_id: int | None,
    free_at: datetime,
    app_url: str | None = None,
    *,
    compact: bool = False,
) -> outbox.Outgoing:
    """The card of one user: the paid card in their card style for the paid audience, a
    delayed summary for the rest (the sender asks the entitlement service again when it sends
    either)."""
    if entitlements.audience_for(standing) is Audience.PAID:
        card = SignalCard(view, language, visibility, chart_id, app_url, compact)
        return _valid(_out(view, tid, card, _key(view, "new", tid), priority=1))
    summary = free_summary(view, language)
    return _valid(_out(view, tid, summary, _key(view, "free", tid),
                       priority=7, not_before=free_at, audience=Audience.FREE))  # fmt: skip


def is_user_in(orig: dict[str, Any], chats: set[int]) -> bool:
    """Whether the original card went to a user's chat among `chats` (never a channel)."""
    return orig["user_id"] is not None and orig["chat_id"] in chats


def _valid(item: outbox.Outgoing) -> outbox.Outgoing:
    """`item`, checked as the outbox will check it (so one bad card never fails the batch)."""
    outbox.validate_payload(item.payload)
    return item


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
    readers = await User.filter(telegram_id__in=ids).values_list(
        "telegram_id", "language", "card_style"
    )
    languages = {tid: language for tid, language, _ in readers}
    compact = {tid for tid, _, style in readers if _compact(style)}
    chart_id = await _chart_id(view, chart, faults) if event == "revised" else None
    unexecuted = await _approved_without_terminal(view.id) if event == "filled" else set()
    decisions = await _decisions(view.id)
    app_url = await app_settings.miniapp_url()
    items: list[outbox.Outgoing] = []
    for orig in originals:
        try:
            items += _change(
                view, event, orig, languages, visibility, chart_id, unexecuted, decisions, app_url,
                compact=is_user_in(orig, compact),
            )  # fmt: skip
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
    unexecuted: set[int],
    decisions: dict[int, str],
    app_url: str | None = None,
    *,
    compact: bool = False,
) -> list[outbox.Outgoing]:
    """The reply and the status-line edit for one original card (`compact`: its reader's
    card style is compact, so a revision's reply comes without the chart)."""
    stamp = f"{event}:v{view.version}"
    chat, is_user, original = orig["chat_id"], orig["user_id"] is not None, orig["dedupe_key"]
    lang = languages.get(chat) if is_user else "en"
    note = NO_EXECUTION if is_user and chat in unexecuted else ""
    reply = SignalUpdate(view, lang, visibility, event, original, note,
                         None if compact else chart_id)  # fmt: skip
    is_photo = orig["payload"].get("method") == "send_photo"
    edit = CardEdit(
        view, lang, visibility, original, photo=is_photo, buttons=is_user,
        decision=decisions.get(chat) if is_user else None, app_url=app_url, compact=compact,
    )  # fmt: skip
    return [
        _valid(_out(view, chat, reply, _key(view, f"upd:{stamp}", chat), user=is_user,
                    priority=3)),
        _valid(_out(view, chat, edit, _key(view, f"edit:{stamp}", chat), user=is_user,
                    priority=4)),
    ]  # fmt: skip


async def _decisions(signal_id: int) -> dict[int, str]:
    """Telegram id -> the user's decision on the signal (shown on their card)."""
    rows = await Approval.filter(signal_id=signal_id).values_list("user__telegram_id", "decision")
    return {int(str(tid)): str(decision) for tid, decision in rows}


async def announce_decision(
    view: SignalView, telegram_id: int, decision: Decision, stamp: int
) -> int:
    """Edit the user's own card to show their decision (made in chat or in the Mini App), in
    the decision's transaction; `stamp` (the decision's audit id) makes each edit its own. No
    card (the user never got one, e.g. they were free when it went out): nothing to edit."""
    orig = await Notification.filter(dedupe_key=_key(view, "new", telegram_id)).values("payload")
    if not orig:
        return 0
    visibility = await app_settings.visibility()
    reader = await User.get_or_none(telegram_id=telegram_id).values("language", "card_style")
    language = reader["language"] if reader else None
    is_photo = orig[0]["payload"].get("method") == "send_photo"
    edit = CardEdit(
        view, language if isinstance(language, str) else None, visibility,
        _key(view, "new", telegram_id), photo=is_photo, decision=decision.value,
        app_url=await app_settings.miniapp_url(),
        compact=_compact(reader["card_style"]) if reader else False,
    )  # fmt: skip
    key = _key(view, f"edit:decision:{stamp}", telegram_id)
    return await outbox.enqueue_many([_valid(_out(view, telegram_id, edit, key, priority=2))])


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
