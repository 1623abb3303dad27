"""Payment updates: pre-checkout answers, successful payments (welcome or receipt), Telegram's
`subscription` updates, refunds from Telegram, /cancel_subscription and the owner's /refund.

The Telegram side of `services.billing.checkout.StarsPort` and `refunds.RefundPort` is
`handlers.shop.BotStars` (aiogram's Bot).
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BotSubscriptionUpdated,
    CallbackQuery,
    Message,
    PreCheckoutQuery,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from handlers.shop import BotStars, features_text, pay_button, plan_name, subscription_link
from models.users import Role
from services.billing import refunds
from services.billing.checkout import Checkout, PaidResult, SuccessfulPayment
from services.billing.entitlements import GRACE
from services.billing.payments import RenewalState
from services.billing.stripe_billing import StripeBilling
from services.errors import UserFacingError
from services.text.formatting import Number
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}


class SubCB(CallbackData, prefix="ssub"):
    action: str  # cancel | reenable


class RefundCB(CallbackData, prefix="rfd"):
    payment_id: int


@router.pre_checkout_query()
async def pre_checkout(query: PreCheckoutQuery, user: UserInfo, checkout: Checkout) -> None:
    refusal = await checkout.pre_checkout(
        user.id, query.invoice_payload, query.total_amount, query.currency, clock.now()
    )
    if refusal is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=_(refusal.value))


def _date(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _welcome(result: PaidResult) -> Html:
    lines = [
        fmt(
            _("checkout.welcome"),
            name=plan_name(result.plan),
            features=Html(features_text(result.features)),
            terminals=plural("shop.terminals", result.terminal_limit),
        )  # fmt: skip
    ]
    if result.ends_at is not None:
        how = _("checkout.renews_on") if result.renews else _("checkout.ends_on")
        lines.append(fmt(how, date=result.ends_at))
    if result.upgrade is not None:
        lines.append(
            fmt(
                _("checkout.upgrade_credit"),
                old=plan_name(result.upgrade.old_plan),
                credit=plural("checkout.days", result.upgrade.credit_days),
            )  # fmt: skip
        )
    return Html("\n\n".join(lines))


@router.message(F.successful_payment)
async def successful_payment(
    message: Message, user: UserInfo, checkout: Checkout, bot: Bot
) -> None:
    paid = message.successful_payment
    assert paid is not None  # the filter
    result = await checkout.paid(
        user,
        SuccessfulPayment(
            currency=paid.currency, total_amount=paid.total_amount,
            invoice_payload=paid.invoice_payload, charge_id=paid.telegram_payment_charge_id,
            is_recurring=bool(paid.is_recurring), is_first_recurring=bool(paid.is_first_recurring),
            subscription_expiration_date=_date(paid.subscription_expiration_date),
            raw=paid.model_dump(mode="json", exclude_none=True),
        ),
        clock.now(),
        BotStars(bot),
    )  # fmt: skip
    if not result.created:
        return  # a duplicate delivery: it was recorded and told once
    if result.renewal:
        await message.answer(
            fmt(
                _("checkout.receipt"),
                stars=Number(result.stars, 0),
                name=plan_name(result.plan),
                date=result.ends_at,
                id=result.payment_id,
            )  # fmt: skip
        )
        return
    await message.answer(_welcome(result))


@router.subscription()
async def subscription_changed(
    event: BotSubscriptionUpdated, user: UserInfo, checkout: Checkout, bot: Bot
) -> None:
    change = await checkout.subscription_update(
        user, event.invoice_payload, event.state, clock.now()
    )
    if change is None:
        return
    name = plan_name(change.plan)
    if change.state is RenewalState.FAILED:
        told = fmt(_("checkout.renewal_failed"), name=name, until=change.expires_at + GRACE)
        try:
            link, terms_stars = await subscription_link(bot, checkout, user, change.plan)
        except UserFacingError:  # the plan is no longer sold: the grace notice, no button
            await bot.send_message(user.telegram_id, told)
            return
        await bot.send_message(user.telegram_id, told, reply_markup=pay_button(link, terms_stars))
        return
    text = (
        _("checkout.canceled")
        if change.state is RenewalState.CANCELED
        else _("checkout.reenabled")
    )
    await bot.send_message(user.telegram_id, fmt(text, name=name, date=change.expires_at))


@router.message(F.refunded_payment)
async def refunded_payment(message: Message) -> None:
    refunded = message.refunded_payment
    assert refunded is not None  # the filter
    done = await refunds.telegram_refunded(refunded.telegram_payment_charge_id, clock.now())
    if done is not None and done.created:
        await message.answer(fmt(_("refund.user_notice"), stars=Number(refunded.total_amount, 0)))


@router.message(cmd("cancel_subscription"))
async def cancel_subscription(message: Message, user: UserInfo) -> None:
    access = user.access
    if access is None or not access.renews or access.ends_at is None:
        await message.answer(_("checkout.no_subscription"))
        return
    kb = InlineKeyboardBuilder()
    kb.button(text=_("checkout.btn_cancel_confirm"), callback_data=SubCB(action="cancel"))
    keyboard = kb.as_markup()
    await message.answer(
        fmt(_("checkout.cancel_confirm"), name=plan_name(access.plan), date=access.ends_at),
        reply_markup=keyboard,
    )


@router.callback_query(SubCB.filter(F.action == "cancel"))
async def cancel_confirmed(
    query: CallbackQuery, user: UserInfo, checkout: Checkout, bot: Bot
) -> None:
    change = await checkout.cancel(user, clock.now(), BotStars(bot))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        kb = InlineKeyboardBuilder()
        kb.button(text=_("checkout.btn_reenable"), callback_data=SubCB(action="reenable"))
        await query.message.answer(
            fmt(_("checkout.canceled"), name=plan_name(change.plan), date=change.expires_at),
            reply_markup=kb.as_markup(),
        )


@router.callback_query(SubCB.filter(F.action == "reenable"))
async def reenable_confirmed(
    query: CallbackQuery, user: UserInfo, checkout: Checkout, bot: Bot
) -> None:
    change = await checkout.reenable(user, clock.now(), BotStars(bot))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            fmt(_("checkout.reenabled"), name=plan_name(change.plan), date=change.expires_at)
        )


@router.message(cmd("refund"), flags=OWNER)
async def refund_ask(message: Message, command: CommandObject, state: FSMContext) -> None:
    ref, _sep, reason = (command.args or "").strip().partition(" ")
    if not ref:
        await message.answer(_("refund.usage"))
        return
    view = await refunds.find(ref)
    await state.update_data({f"refund_reason:{view.id}": reason.strip() or "owner refund"})
    kb = InlineKeyboardBuilder()
    kb.button(text=_("refund.btn_confirm"), callback_data=RefundCB(payment_id=view.id))
    keyboard = kb.as_markup()
    await message.answer(
        fmt(
            _("refund.confirm"),
            id=view.id,
            amount=Number(view.amount, 0),
            currency=view.currency,
            provider=view.provider.value,
            name=plan_name(view.plan),
            date=view.created_at,
            user=view.telegram_id or "?",
        ),
        reply_markup=keyboard,
    )


@router.callback_query(RefundCB.filter(), flags=OWNER)
async def refund_confirmed(
    query: CallbackQuery,
    callback_data: RefundCB,
    user: UserInfo,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    stripe_billing: StripeBilling | None,
) -> None:
    data = await state.get_data()
    reason = str(data.get(f"refund_reason:{callback_data.payment_id}", "owner refund"))
    done, view = await refunds.refund(
        str(callback_data.payment_id), clock.now(), actor_id=user.telegram_id, reason=reason,
        port=BotStars(bot), stripe=stripe_billing,
    )  # fmt: skip
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        text = _("refund.done") if done.created else _("refund.already")
        await query.message.answer(fmt(text, id=done.payment_id, ended=len(done.ended)))
    if done.created and view.telegram_id is not None:
        with i18n.use_locale(view.language or "en"):
            notice = fmt(_("refund.user_notice"), stars=Number(view.amount, 0))
        await bot.send_message(view.telegram_id, notice)
