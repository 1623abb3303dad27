"""What a signal looks like to each audience: one formatter for every signal message.

Typed views in, Bot API payloads (see services/outbox/notifications.py) out. Text is HTML and goes
through gettext in the recipient's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from models.signals import CloseReason, SignalStatus
from services.app_settings import Visibility
from services.outbox.payloads import Button, Keyboard, inline_keyboard
from services.signals.callbacks import SignalCB, UpgradeCB
from services.text import formatting
from services.text.i18n import Translate, translator

STATUS_ICON = {
    SignalStatus.PUBLISHED: "⏳",
    SignalStatus.REVISED: "✏️",
    SignalStatus.FILLED: "🟢",
    SignalStatus.EXPIRED: "⌛",
    SignalStatus.REPLACED: "🔁",
    SignalStatus.CANCELLED: "✖️",
    SignalStatus.CLOSED: "🏁",
}
OPEN_STATUSES = (SignalStatus.PUBLISHED, SignalStatus.REVISED)


@dataclass(frozen=True, slots=True)
class SignalView:
    """A signal as shown to people (prices already on the symbol's tick grid)."""

    id: int
    symbol: str
    side: str
    status: SignalStatus
    close_reason: CloseReason | None
    version: int
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    digits: int
    published_at: datetime
    expires_at: datetime
    result_r: Decimal | None
    rationale: str
    price_adjusted: bool
    source: str = "strategy"
    trigger_time: datetime | None = None
    leg2_start: datetime | None = None
    fill_price: Decimal | None = None  # the strategy's fill (not any user's)
    exit_price: Decimal | None = None  # the strategy's exit
    via: str = ""  # an outside producer's signal: its name ("via TradingView: Gold breakout")

    @property
    def reward_risk(self) -> Decimal:
        risk = abs(self.entry - self.stop)
        return (
            (abs(self.take_profit - self.entry) / risk).quantize(Decimal("0.01"))
            if risk
            else Decimal(0)
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def price(self, value: Decimal, locale: str | None) -> str:
        """`value` with the symbol's digits, for `locale` (1.07592 / 1,07592)."""
        return formatting.price(value, self.digits, locale)


def _when(moment: datetime, locale: str | None) -> str:
    return formatting.when(moment, locale)


def status_line(view: SignalView, locale: str | None) -> str:
    _ = translator(locale)
    icon = STATUS_ICON[view.status]
    if view.status is SignalStatus.CLOSED and view.close_reason is not None:
        text = _(f"signal.closed_{view.close_reason.value}")
        r = formatting.signed(view.result_r, locale) if view.result_r is not None else "?"
        return f"{icon} " + _("signal.status").format(status=text) + f" ({r} R)"
    return f"{icon} " + _("signal.status").format(status=_(f"signal.status_{view.status.value}"))


def _headline(view: SignalView, _: Translate) -> str:
    """The card's first line: symbol, side, id and (after a revision) version."""
    side = _("signal.side_buy") if view.side == "buy" else _("signal.side_sell")
    version = f" · v{view.version}" if view.version > 1 else ""
    return f"<b>{escape(view.symbol)} · {side}</b>  #{view.id}{version}"


def full_text(view: SignalView, locale: str | None, visibility: Visibility) -> str:
    """The paid subscriber's message: levels per the owner's visibility, R:R, expiry, status."""
    _ = translator(locale)
    lines = [_headline(view, _), _("signal.entry").format(price=view.price(view.entry, locale))]
    if visibility is Visibility.FULL:
        lines.append(_("signal.stop").format(price=view.price(view.stop, locale)))
        lines.append(_("signal.take_profit").format(price=view.price(view.take_profit, locale)))
        lines.append(_("signal.rr").format(rr=formatting.number(view.reward_risk, locale)))
    else:
        lines.append(_("signal.managed_exits"))
    lines.append(_("signal.expires").format(when=_when(view.expires_at, locale)))
    if view.price_adjusted:
        lines.append(_("signal.price_adjusted"))
    why = rationale(view, locale)
    if why:
        lines.append(f"<i>{why}</i>")
    if view.via:
        lines.append(_("ingest.card_via").format(name=escape(view.via)))
    lines.append("")
    lines.append(status_line(view, locale))
    return "\n".join(lines)


def compact_text(view: SignalView, locale: str | None, visibility: Visibility) -> str:
    """The compact card (a user's card style): the signal in a few lines of text, levels per the
    owner's visibility, without the chart and the rationale."""
    _ = translator(locale)
    head = _headline(view, _)
    entry = view.price(view.entry, locale)
    if visibility is Visibility.FULL:
        levels = _("signal.compact_levels").format(
            entry=entry,
            stop=view.price(view.stop, locale),
            take_profit=view.price(view.take_profit, locale),
            rr=formatting.number(view.reward_risk, locale),
        )
    else:
        levels = _("signal.compact_entry").format(entry=entry)
    lines = [head, levels, _("signal.expires").format(when=_when(view.expires_at, locale))]
    if view.price_adjusted:
        lines.append(_("signal.price_adjusted"))
    if view.via:
        lines.append(_("ingest.card_via").format(name=escape(view.via)))
    lines.append(status_line(view, locale))
    return "\n".join(lines)


def card_text(
    view: SignalView, locale: str | None, visibility: Visibility, *, compact: bool
) -> str:
    """The card's text in the reader's card style."""
    return (compact_text if compact else full_text)(view, locale, visibility)


def rationale(view: SignalView, locale: str | None) -> str:
    """One line on why: the owner's text for manual signals, the Fib-RSI story otherwise."""
    if view.rationale:
        return escape(view.rationale)
    if view.trigger_time is None or view.leg2_start is None:
        return ""
    _ = translator(locale)
    template = _("signal.rationale_sell") if view.side == "sell" else _("signal.rationale_buy")
    return template.format(
        trigger=_when(view.trigger_time, locale), leg2=_when(view.leg2_start, locale)
    )


def free_text(view: SignalView, locale: str | None) -> str:
    """The free user's delayed summary: no levels, an invitation to upgrade."""
    _ = translator(locale)
    side = _("signal.side_buy") if view.side == "buy" else _("signal.side_sell")
    return _("signal.free_summary").format(
        symbol=escape(view.symbol), side=side, when=_when(view.published_at, locale)
    )


def update_text(
    view: SignalView, locale: str | None, visibility: Visibility, event: str, note: str = ""
) -> str:
    """A reply to the original message: what changed. Fills and exits are the strategy's (a
    user's own execution is their terminal's message); `note` is a line for this user."""
    _ = translator(locale)
    head = _event_head(view, _, event, locale)
    if note:
        head = f"{head}\n{_(note)}"
    if event == "revised":
        body = [_("signal.entry").format(price=view.price(view.entry, locale))]
        if visibility is Visibility.FULL:
            body.append(_("signal.stop").format(price=view.price(view.stop, locale)))
            body.append(_("signal.take_profit").format(price=view.price(view.take_profit, locale)))
        return "\n".join([head, *body])
    if event == "closed" and view.result_r is not None:
        return f"{head}\n{status_line(view, locale)}"
    return head


def _event_head(view: SignalView, _: Translate, event: str, locale: str | None) -> str:
    values = {"id": view.id, "symbol": escape(view.symbol)}
    if event == "filled" and view.fill_price is not None:
        price = view.price(view.fill_price, locale)
        return _("signal.event_filled").format(price=price, **values)
    if event == "closed" and view.exit_price is not None:
        price = view.price(view.exit_price, locale)
        return _("signal.event_closed_at").format(price=price, **values)
    return _(f"signal.event_{event}").format(price="?", **values)


def keyboard(buttons: list[list[tuple[str, str]]]) -> Keyboard:
    """An inline keyboard from rows of (text, callback_data)."""
    return inline_keyboard([Button(t, callback_data=d) for t, d in row] for row in buttons)


def app_link(app_url: str, start: str) -> str:
    """The Mini App page opened on `start` (a page or `signal_<id>`), for a web_app button."""
    return f"{app_url}{'&' if '?' in app_url else '?'}startapp={start}"


def signal_keyboard(
    view: SignalView, locale: str | None, app_url: str | None = None
) -> Keyboard | None:
    """Approve / Reject / Details while the approval window is open, then (with `app_url`)
    Open app on this signal; none after."""
    if not view.is_open:
        return None
    _ = translator(locale)
    rows = [
        [
            Button(_("signal.btn_approve"), SignalCB(action="approve", signal_id=view.id).pack()),
            Button(_("signal.btn_reject"), SignalCB(action="reject", signal_id=view.id).pack()),
        ],
        [Button(_("signal.btn_details"), SignalCB(action="details", signal_id=view.id).pack())],
    ]
    if app_url:
        rows.append(
            [Button(_("miniapp.open_app"), web_app=app_link(app_url, f"signal_{view.id}"))]
        )
    return inline_keyboard(rows)


def upgrade_keyboard(locale: str | None, source: str) -> Keyboard:
    _ = translator(locale)
    return keyboard([[(_("signal.btn_upgrade"), UpgradeCB(source=source).pack())]])
