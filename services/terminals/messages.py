"""The one formatter for what terminals cause us to tell people (fills, skips, guard, offline).

Typed inputs in, outbox items (`notifications.Outgoing` carrying a typed kind of
`services.outbox.kinds`: `Fill`, `PositionClosed`, `TerminalAlert`) out, rendered in the
recipient's language when queued. Device names are user input: always escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from models.users import Role, User, UserStatus
from services.outbox import notifications as outbox
from services.outbox.kinds import Fill, PositionClosed, TerminalAlert
from services.text.formatting import Phrase, Plural, phrase, render_plural
from services.text.formatting import render as render_text


def msgid(key: str) -> str:
    """gettext_noop: marks a message id (import it as `_`) for the catalog checks in
    tests/handlers/test_i18n.py; `render` translates it in the recipient's language."""
    return key


_ = msgid
SKIP_REASONS: dict[str, str] = {
    "no_account": _("copy.reason_no_account"),
    "no_balance": _("copy.reason_no_balance"),
    "unknown_symbol": _("copy.reason_unknown_symbol"),
    "below_min_volume": _("copy.reason_below_min_volume"),
    "max_lot_below_min": _("copy.reason_max_lot_below_min"),
    "max_open_positions": _("copy.reason_max_open_positions"),
    "max_trades_per_day": _("copy.reason_max_trades_per_day"),
    "paused": _("copy.reason_paused"),
    "not_entitled": _("copy.reason_not_entitled"),
    "invalid_levels": _("copy.reason_invalid_levels"),
    "bad_spec": _("copy.reason_bad_spec"),
    "internal_error": _("copy.reason_internal_error"),
}


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_id: int
    language: str | None


def recipient(user: User) -> Recipient:
    return Recipient(user.telegram_id, user.language)


async def owners() -> list[Recipient]:
    """Every active owner (OWNER_IDS become owners on first contact)."""
    rows = await User.filter(role=Role.OWNER, status=UserStatus.ACTIVE)
    return [recipient(r) for r in rows]


def render(to: Recipient, key: str, **params: Any) -> str:
    """Message `key` in the recipient's language with `params` shown for it (numbers, prices,
    money, times, state names: `services.text.formatting`); strings must come escaped."""
    return render_text(to.language, key, **params)


COUNTED_REASONS = ("max_open_positions", "max_trades_per_day")  # plural forms of {count}


def skip_reason(to: Recipient, code: str, params: dict[str, Any]) -> str:
    """Why a signal did not reach a terminal, in the recipient's words (text parameters are
    escaped: some, like a broker's symbol name, come from the terminal)."""
    safe = {k: escape(v) if isinstance(v, str) else v for k, v in params.items()}
    if code in COUNTED_REASONS:
        rest = tuple((k, v) for k, v in safe.items() if k != "count")
        return render_plural(to.language, Plural(SKIP_REASONS[code], int(safe["count"]), rest))
    return render(to, SKIP_REASONS[code], **safe)


def item(
    to: Recipient,
    message: Fill | PositionClosed | TerminalAlert,
    dedupe_key: str,
    *,
    signal_id: int | None = None,
    priority: int = 4,
) -> outbox.Outgoing:
    """One message to a user through the outbox (its `language` is the recipient's)."""
    return outbox.Outgoing(
        chat_id=to.telegram_id,
        message=message,
        dedupe_key=dedupe_key,
        user_id=to.telegram_id,
        signal_id=signal_id,
        priority=priority,
    )


def skip_notice(
    to: Recipient, device_pk: int, name: str, signal_id: int, code: str, params: dict[str, Any]
) -> outbox.Outgoing:
    body = phrase(
        _("copy.skipped"), id=signal_id, name=escape(name), reason=skip_reason(to, code, params)
    )
    alert = TerminalAlert("skip", to.language, body)
    return item(to, alert, skip_key(device_pk, signal_id), signal_id=signal_id)


def skip_key(device_pk: int, signal_id: int) -> str:
    return f"copy:skip:{device_pk}:{signal_id}"


def fill(to: Recipient, body: Phrase) -> Fill:
    return Fill(to.language, body)


def closed(to: Recipient, body: Phrase) -> PositionClosed:
    return PositionClosed(to.language, body)


def name(value: str) -> str:
    return escape(value)
