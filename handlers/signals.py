"""Signal cards' buttons (approve, reject, details, consent), /signals and /history."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.commands import cmd
from handlers.render import Html, as_plain_text, fmt, locale, plural
from models.signals import Decision
from services import app_settings, approvals, entitlements, signals, vocabulary
from services.callbacks import SignalCB, UpgradeCB
from services.formatting import Signed
from services.signal_views import SignalView, full_text, status_line
from services.users import UserInfo

router = Router(name=__name__)


@router.callback_query(SignalCB.filter(F.action.in_({"approve", "reject"})))
async def decide(query: CallbackQuery, callback_data: SignalCB, user: UserInfo) -> None:
    decision = Decision.APPROVED if callback_data.action == "approve" else Decision.REJECTED
    result = await approvals.decide(user, callback_data.signal_id, decision)
    if result.needs_consent is not None:
        await query.answer()
        kb = InlineKeyboardBuilder()
        kb.button(
            text=_("signal.btn_accept"),
            callback_data=SignalCB(action="consent", signal_id=callback_data.signal_id),
        )
        if isinstance(query.message, Message):
            await query.message.answer(
                fmt(_("signal.disclaimer"), version=result.needs_consent),
                reply_markup=kb.as_markup(),
            )
        return
    if not result.changed:
        await query.answer(_("signal.already_decided"))
    elif decision is Decision.APPROVED:
        text = fmt(_("signal.approved"), id=callback_data.signal_id)
        await query.answer(as_plain_text(text), show_alert=True)
    else:
        await query.answer(as_plain_text(fmt(_("signal.rejected"), id=callback_data.signal_id)))


@router.callback_query(SignalCB.filter(F.action == "consent"))
async def consent(query: CallbackQuery, callback_data: SignalCB, user: UserInfo) -> None:
    version = await app_settings.disclaimer_version()
    await approvals.accept_disclaimer(user, version)
    result = await approvals.decide(user, callback_data.signal_id, Decision.APPROVED)
    approved = fmt(_("signal.approved"), id=callback_data.signal_id)
    await query.answer(as_plain_text(approved), show_alert=True)
    if isinstance(query.message, Message) and result.decision is Decision.APPROVED:
        await query.message.edit_text(
            fmt(_("signal.consent_recorded"), version=version), reply_markup=None
        )


@router.callback_query(SignalCB.filter(F.action == "details"))
async def details(query: CallbackQuery, callback_data: SignalCB, user: UserInfo) -> None:
    view = await signals.get(callback_data.signal_id)
    mine = await approvals.decision_of(user, view.id)
    counts = await approvals.counts(view.id)
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
async def upgrade(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("signal.upgrade_info"))


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
