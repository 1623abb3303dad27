"""The kinds of notification the outbox carries: one frozen dataclass per kind, a union of them
(`Notice`), one render function per kind (`render`) and the `kind` string stored on its row
(`kind_of`; the same strings as before the kinds were typed, so stored rows, the sender's
audience checks and log fields keep their meaning).

A producer builds the value with typed fields (the signal's view, a `Phrase` with typed
parameters, the recipient's language) and hands it to `notifications.enqueue`; the words, the
locale's numbers and dates and the keyboard are made here, once, when it is queued. Adding a
kind means a class here and a case in both matches: mypy (strict) refuses a missed case
through `assert_never`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, assert_never

from models.users import Role
from services.app_settings import Visibility
from services.outbox.payloads import (
    Keyboard,
    Payload,
    edit_caption,
    edit_markup,
    edit_text,
    photo,
    text,
)
from services.signals.views import (
    SignalView,
    card_text,
    free_text,
    full_text,
    signal_keyboard,
    update_text,
    upgrade_keyboard,
)
from services.text.formatting import Phrase, render_phrase
from services.text.i18n import msgid as _
from services.text.i18n import translator

TELEGRAM_TEXT_MAX = 4000  # below the Bot API's 4096, room for the alert's prefix
TerminalEvent = Literal["rejected", "skip", "guard", "recon", "offline", "online"]
# What happens to a user's paid access over time (services.billing.lifecycle).
BillingEvent = Literal["reminder", "grace", "ended", "enforced"]
AccessChange = Literal[
    "access.banned",
    "access.unbanned",
    "access.promoted_admin",
    "access.promoted_subscriber",
    "access.demoted_public",
    "access.demoted_subscriber",
]
# The same message ids, marked for the catalog checks (tests/handlers/test_i18n.py).
ACCESS_CHANGES = (
    _("access.banned"),
    _("access.unbanned"),
    _("access.promoted_admin"),
    _("access.promoted_subscriber"),
    _("access.demoted_public"),
    _("access.demoted_subscriber"),
)


@dataclass(frozen=True, slots=True)
class SignalCard:
    """The paid card of a signal: levels, the chart of this version, Approve / Reject."""

    view: SignalView
    language: str | None
    visibility: Visibility
    chart_id: int | None = None
    app_url: str | None = None  # the Mini App page: an Open app button
    compact: bool = False  # the reader's card style: text only, no chart


@dataclass(frozen=True, slots=True)
class ChannelCard:
    """The public card in a routed channel: the card in English, without buttons."""

    view: SignalView
    visibility: Visibility
    chart_id: int | None = None


@dataclass(frozen=True, slots=True)
class FreeSummary:
    """The free tier's summary of a signal: no levels, an upgrade button."""

    view: SignalView
    language: str | None


@dataclass(frozen=True, slots=True)
class SignalUpdate:
    """A reply to the card `reply_to` saying what changed: a revision (with the new chart) or
    an outcome (filled, target hit, stopped, closed, expired, cancelled)."""

    view: SignalView
    language: str | None
    visibility: Visibility
    event: str
    reply_to: str
    note: str = ""
    chart_id: int | None = None


@dataclass(frozen=True, slots=True)
class CardEdit:
    """The card `edit_of` edited in place to the signal's state now (`photo`: its caption)."""

    view: SignalView
    language: str | None
    visibility: Visibility
    edit_of: str
    photo: bool
    buttons: bool = True
    decision: str | None = None  # the reader's own decision (a `Decision` value), shown last
    app_url: str | None = None  # the Mini App page: an Open app button
    compact: bool = False  # the reader's card style now (a photo card keeps its photo)


@dataclass(frozen=True, slots=True)
class ButtonsRemoved:
    """The card `edit_of` without its buttons (its reader may no longer use them)."""

    edit_of: str


@dataclass(frozen=True, slots=True)
class Fill:
    """A user's own order filled on their terminal."""

    language: str | None
    text: Phrase


@dataclass(frozen=True, slots=True)
class PositionClosed:
    """A user's own position closed on their terminal, with its result."""

    language: str | None
    text: Phrase


@dataclass(frozen=True, slots=True)
class TerminalAlert:
    """What else a terminal causes us to tell its owner: a refused command, a skipped signal,
    the risk guard, a reconciliation finding, going offline or back online."""

    event: TerminalEvent
    language: str | None
    text: Phrase


@dataclass(frozen=True, slots=True)
class PriceAlertFired:
    """One of the user's price alerts fired (services.alerts.firing): the phrase names the
    symbol, the level and the price (its note comes escaped from the producer)."""

    language: str | None
    text: Phrase


@dataclass(frozen=True, slots=True)
class AccessNotice:
    """A change of the user's own access (role or ban), naming the role they have now."""

    change: AccessChange
    language: str | None
    role: Role


@dataclass(frozen=True, slots=True)
class BillingNotice:
    """A change of the user's paid access over time: a reminder before a period ends, the
    grace period, the end of access, terminals paused or copy mode switched off (`keyboard`:
    buttons already in the recipient's language)."""

    event: BillingEvent
    language: str | None
    text: Phrase
    keyboard: Keyboard | None = None


@dataclass(frozen=True, slots=True)
class OpsAlert:
    """An operational problem told to an owner in their language, as plain text."""

    language: str | None
    text: Phrase


@dataclass(frozen=True, slots=True)
class PlainText:
    """A text message written by its producer (HTML unless `parse_mode` says otherwise);
    with `edit_of`, the text (and keyboard: None removes it) of that notification's message
    replaced instead."""

    body: str
    keyboard: Keyboard | None = None
    reply_to: str | None = None
    parse_mode: str | None = "HTML"
    edit_of: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A payload built with the `services.outbox.payloads` builders (a photo file, a deletion):
    for the sender's own tests and tools, never for what the product tells people."""

    payload: Payload


Notice = (
    SignalCard
    | ChannelCard
    | FreeSummary
    | SignalUpdate
    | CardEdit
    | ButtonsRemoved
    | Fill
    | PositionClosed
    | TerminalAlert
    | PriceAlertFired
    | AccessNotice
    | BillingNotice
    | OpsAlert
    | PlainText
    | Prepared
)


def kind_of(notice: Notice) -> str:  # noqa: C901 - one answer per kind
    """The `kind` stored on the notification's row."""
    match notice:
        case SignalCard():
            return "signal.new"
        case ChannelCard():
            return "signal.channel"
        case FreeSummary():
            return "signal.free"
        case SignalUpdate():
            return "signal.update"
        case CardEdit() | ButtonsRemoved():
            return "signal.edit"
        case Fill():
            return "terminal.filled"
        case PositionClosed():
            return "terminal.closed"
        case TerminalAlert(event=event):
            return f"terminal.{event}"
        case PriceAlertFired():
            return "alert"
        case AccessNotice(change=change):
            return change
        case BillingNotice(event=event):
            return f"billing.{event}"
        case OpsAlert():
            return "ops.alert"
        case PlainText():
            return "text"
        case Prepared():
            return "prepared"
        case _:
            assert_never(notice)


def _card(
    body: str, chart_id: int | None, keyboard: Keyboard | None, reply_to: str | None
) -> Payload:
    if chart_id is not None:
        return photo(body, chart_id=chart_id, keyboard=keyboard, reply_to=reply_to)
    return text(body, keyboard=keyboard, reply_to=reply_to)


def render_signal_card(n: SignalCard) -> Payload:
    body = card_text(n.view, n.language, n.visibility, compact=n.compact)
    chart_id = None if n.compact else n.chart_id
    return _card(body, chart_id, signal_keyboard(n.view, n.language, n.app_url), None)


def render_channel_card(n: ChannelCard) -> Payload:
    return _card(full_text(n.view, "en", n.visibility), n.chart_id, None, None)


def render_free_summary(n: FreeSummary) -> Payload:
    return text(free_text(n.view, n.language), keyboard=upgrade_keyboard(n.language, "signal"))


def render_signal_update(n: SignalUpdate) -> Payload:
    body = update_text(n.view, n.language, n.visibility, n.event, n.note)
    return _card(body, n.chart_id, None, n.reply_to)


YOUR_DECISION = {"approved": _("signal.you_approved"), "rejected": _("signal.you_rejected")}


def render_card_edit(n: CardEdit) -> Payload:
    body = card_text(n.view, n.language, n.visibility, compact=n.compact)
    if n.decision is not None:
        body = f"{body}\n{translator(n.language)(YOUR_DECISION[n.decision])}"
    keyboard = signal_keyboard(n.view, n.language, n.app_url) if n.buttons else None
    if n.photo:
        return edit_caption(n.edit_of, body, keyboard=keyboard)
    return edit_text(n.edit_of, body, keyboard=keyboard)


def render_terminal_text(language: str | None, message: Phrase) -> Payload:
    """Fills, closes and terminal alerts: the phrase in the recipient's language (its string
    parameters come escaped from the producer: device and symbol names are user input)."""
    return text(render_phrase(language, message))


def render_access_notice(n: AccessNotice) -> Payload:
    tr = translator(n.language)
    return text(tr(n.change).format(role=tr(f"role.{n.role.value}")))


def render_ops_alert(n: OpsAlert) -> Payload:
    return text(render_phrase(n.language, n.text)[:TELEGRAM_TEXT_MAX], parse_mode=None)


def render_plain_text(n: PlainText) -> Payload:
    if n.edit_of is not None:
        return edit_text(n.edit_of, n.body, keyboard=n.keyboard, parse_mode=n.parse_mode)
    return text(n.body, keyboard=n.keyboard, reply_to=n.reply_to, parse_mode=n.parse_mode)


def render(notice: Notice) -> Payload:  # noqa: C901 - one renderer per kind
    """The Bot API payload of `notice` (see `services.outbox.payloads` for its format)."""
    match notice:
        case SignalCard():
            return render_signal_card(notice)
        case ChannelCard():
            return render_channel_card(notice)
        case FreeSummary():
            return render_free_summary(notice)
        case SignalUpdate():
            return render_signal_update(notice)
        case CardEdit():
            return render_card_edit(notice)
        case ButtonsRemoved(edit_of=edit_of):
            return edit_markup(edit_of)
        case (
            Fill(language=language, text=message) | PositionClosed(language=language, text=message)
        ):
            return render_terminal_text(language, message)
        case TerminalAlert(language=language, text=message):
            return render_terminal_text(language, message)
        case PriceAlertFired(language=language, text=message):
            return text(render_phrase(language, message))
        case AccessNotice():
            return render_access_notice(notice)
        case BillingNotice(language=language, text=message, keyboard=keyboard):
            return text(render_phrase(language, message), keyboard=keyboard)
        case OpsAlert():
            return render_ops_alert(notice)
        case PlainText():
            return render_plain_text(notice)
        case Prepared(payload=payload):
            return dict(payload)
        case _:
            assert_never(notice)
