"""Signal cards' buttons (approve, reject, details, consent), /signals and /history.

Every button asks the services about the user as they are now: a card may be older than the
user's demotion (Details and Approve then refuse), and a signal may have ended between the
disclaimer and its acceptance (consent is still recorded, and the answer says what happened).
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.commands import cmd
from handlers.render import Html, as_plain_text, fmt, locale, plural
from handlers.shop import show_plans
from models.signals import Decision, SignalStatus
from services import app_settings
from services.ops_alerts import OpsAlerts
from services.signals import approvals, consent
from services.signals import lifecycle as signals
from services.signals.callbacks import ConsentCB, SignalCB, UpgradeCB
from services.signals.consent import ConsentOutcome, DisclaimerOutdated
from services.signals.views import SignalView, full_text, status_line
from services.text import vocabulary
from services.text.formatting import Signed
from services.users import entitlements
from services.users.profiles import UserInfo

router = Router(name=__name__)
ALERT_MAX = 200  # Telegram's limit for a callback query's alert


def _disclaimer(signal_id: int, version: str) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("signal.btn_accept"),
        callback_data=ConsentCB(signal_id=signal_id, version=consent.version_tag(version)),
    )
    return fmt(_("signal.disclaimer"), version=version), kb.as_markup()


@router.callback_query(SignalCB.filter(F.action.in_({"approve", "reject"})))
async def decide(
    query: CallbackQuery, callback_data: SignalCB, user: UserInfo, alerts: OpsAlerts
) -> None:
    decision = Decision.APPROVED if callback_data.action == "approve" else Decision.REJECTED
    result = await approvals.decide(user, callback_data.signal_id, decision, alerts=alerts)
    if result.needs_consent is not None:
        await query.answer()
        if isinstance(query.message, Message):
            text, markup = _disclaimer(callback_data.signal_id, result.needs_consent)
            await query.message.answer(text, reply_markup=markup)
        return
    if not result.changed:
        await query.answer(_("signal.already_decided"))
    elif decision is Decision.APPROVED:
        text = fmt(_("signal.approved"), id=callback_data.signal_id)
        await query.answer(as_plain_text(text), show_alert=True)
    else:
        await query.answer(as_plain_text(fmt(_("signal.rejected"), id=callback_data.signal_id)))


@router.callback_query(ConsentCB.filter())
async def accept(
    query: CallbackQuery, callback_data: ConsentCB, user: UserInfo, alerts: OpsAlerts
) -> None:
    await _consent(query, user, callback_data.signal_id, callback_data.version, alerts)


@router.callback_query(SignalCB.filter(F.action == "consent"))
async def accept_untagged(
    query: CallbackQuery, callback_data: SignalCB, user: UserInfo, alerts: OpsAlerts
) -> None:
    """A disclaimer sent before its button named the version: the current version."""
    await _consent(query, user, callback_data.signal_id, None, alerts)


async def _consent(
    query: CallbackQuery, user: UserInfo, signal_id: int, tag: str | None, alerts: OpsAlerts
) -> None:
    """Consent is recorded whatever happened to the signal; the disclaimer loses its button
    and says so, and the answer tells what became of the signal."""
    try:
        outcome = await consent.accept_and_approve(user, signal_id, tag, alerts=alerts)
    except DisclaimerOutdated as exc:  # nothing recorded: show the version to accept now
        changed = fmt(_("signal.disclaimer_changed"), version=exc.current)
        await query.answer(as_plain_text(changed), show_alert=True)
        if isinstance(query.message, Message):
            text, markup = _disclaimer(signal_id, exc.current)
            await query.message.edit_text(text, reply_markup=markup)
        return
    recorded = fmt(_("signal.consent_recorded"), version=outcome.version)
    if outcome.approval is not None:
        answer = as_plain_text(fmt(_("signal.approved"), id=signal_id))
        edited = recorded
    else:
        why = _not_approved(outcome)
        answer = as_plain_text(f"{fmt(_('signal.consent_recorded_short'))} {why}")
        edited = Html(f"{recorded}\n\n{why}")
    await query.answer(answer[:ALERT_MAX], show_alert=True)
    if isinstance(query.message, Message):
        await query.message.edit_text(edited, reply_markup=None)


def _not_approved(outcome: ConsentOutcome) -> Html:
    """Why the signal was not approved after consent: the user's access, or its state."""
    view = outcome.signal
    if not outcome.entitled:
        return fmt(_("consent.not_entitled"), id=view.id)
    price = view.price(view.fill_price, locale()) if view.fill_price is not None else "?"
    keys = {
        SignalStatus.FILLED: _("consent.signal_filled"),
        SignalStatus.EXPIRED: _("consent.signal_expired"),
        SignalStatus.REPLACED: _("consent.signal_replaced"),
        SignalStatus.CANCELLED: _("consent.signal_cancelled"),
        SignalStatus.CLOSED: _("consent.signal_closed"),
    }
    return fmt(keys.get(view.status, _("consent.signal_closed")), id=view.id, price=price)


@router.callback_query(SignalCB.filter(F.action == "details"))
async def details(query: CallbackQuery, callback_data: SignalCB, user: UserInfo) -> None:
    found = await approvals.details(user, callback_data.signal_id)  # refused once demoted
    view, mine, counts = found.signal, found.mine, found.counts
    text = full_text(view, locale(), await app_settings.visibility())
    extra = fmt(
        _("signal.details_extra"),
        published=view.published_at,
        approved=counts[Decision.APPROVED],
        rejected=counts[Decision.REJECTED],
        mine=vocabulary.decision(mine),
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(f"{text}\n\n{extra}")


@router.callback_query(UpgradeCB.filter())
async def upgrade(query: CallbackQuery, user: UserInfo) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_plans(query.message, user)  # the catalog with its Buy buttons


def _line(view: SignalView, locale: str | None) -> str:
    side = Html(_("signal.side_buy")) if view.side == "buy" else Html(_("signal.side_sell"))
    return fmt(
        "#{id} <b>{symbol}</b> {side} — {status}", id=view.id, symbol=view.symbol, side=side,
        status=Html(status_line(view, locale)),
    )  # fmt: skip


@router.message(cmd("signals"))
async def active(message: Message, user: UserInfo) -> None:
    if not entitlements.can_trade_signals(user):
        await message.answer(_("signal.upgrade_info"))
        return
    views = await signals.active()
    if not views:
        await message.answer(_("signal.none_active"))
        return
    lines = [_("signal.active_title"), ""] + [_line(v, locale()) for v in views]
    await message.answer("\n".join(lines))


@router.message(cmd("history"))
async def history(message: Message, user: UserInfo) -> None:
    views = await signals.history(limit=15)
    if not views:
        await message.answer(_("signal.none_history"))
        return
    closed = [v.result_r for v in views if v.result_r is not None]
    total = sum(closed) if closed else 0
    lines = [plural("signal.history_title", len(closed), total=Signed(Decimal(total))), ""]
    lines += [_line(v, locale()) for v in views]
    await message.answer("\n".join(lines))
