"""Affiliates and the owner's numbers: /affiliate, /payout; the owner's /payouts,
/payout_paid, /payout_reject, /commissions_flagged (approve / reject buttons) and /revenue
[chart]. Logic lives in services.billing.affiliates and services.billing.revenue."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from handlers.commands import cmd
from handlers.render import Html, fmt
from handlers.shop import plan_name
from models.users import Role
from services.billing import affiliates, revenue
from services.billing.affiliates import usd
from services.text.formatting import Number
from services.text.numbers import looks_numeric
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}
MAX_ID = 2**63 - 1


class FlagCB(CallbackData, prefix="aff"):
    action: str  # ok | no
    commission: int


async def _link(bot: Bot, code: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}?start=ref_{code}"


@router.message(cmd("affiliate"))
async def affiliate(message: Message, user: UserInfo, bot: Bot) -> None:
    s = await affiliates.summary(user.id)
    await message.answer(
        fmt(
            _("affiliate.summary"),
            link=await _link(bot, s.code),
            clicks=Number(s.clicks, 0),
            signups=Number(s.signups, 0),
            paying=Number(s.paying, 0),
            pending=usd(s.pending_cents),
            available=usd(s.available_cents),
            requested=usd(s.requested_cents),
            paid=usd(s.paid_cents),
            minimum=usd(affiliates.MIN_PAYOUT_CENTS),
            first=Number(affiliates.FIRST_RATE, 0),
            renewal=Number(affiliates.RENEWAL_RATE, 0),
            months=affiliates.RENEWAL_MONTHS,
            due=affiliates.DUE_DAYS,
        )
    )


@router.message(cmd("payout"))
async def payout(message: Message, user: UserInfo) -> None:
    done = await affiliates.request_payout(user.id, clock.now())
    await message.answer(fmt(_("affiliate.payout_requested"), id=done.id, amount=usd(done.amount)))


@router.message(cmd("payouts"), flags=OWNER)
async def payouts(message: Message) -> None:
    rows = await affiliates.open_payouts()
    if not rows:
        await message.answer(_("affiliate.payouts_none"))
        return
    lines = [Html(_("affiliate.payouts_title"))]
    for p in rows:
        lines.append(
            fmt(
                _("affiliate.payout_line"),
                id=p.id,
                name=p.affiliate.first_name or "—",
                user=p.affiliate.telegram_id,
                amount=usd(p.amount),
                at=p.requested_at,
            )  # fmt: skip
        )
    lines.append(Html(_("affiliate.payouts_help")))
    await message.answer("\n".join(lines))


def _id_and_note(command: CommandObject) -> tuple[int, str] | None:
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2 or not looks_numeric(parts[0]) or not parts[0].isascii():
        return None
    if not parts[0].isdigit() or not 0 < int(parts[0]) <= MAX_ID:
        return None
    return int(parts[0]), parts[1]


@router.message(cmd("payout_paid", "payout_reject"), flags=OWNER)
async def settle(message: Message, command: CommandObject, user: UserInfo) -> None:
    paid = command.command.lower() == "payout_paid"
    parsed = _id_and_note(command)
    if parsed is None:
        await message.answer(_("affiliate.settle_usage"))
        return
    done = await affiliates.settle_payout(
        parsed[0], paid=paid, note=parsed[1], actor_id=user.telegram_id, now=clock.now()
    )
    text = _("affiliate.payout_marked_paid") if paid else _("affiliate.payout_marked_rejected")
    await message.answer(fmt(text, id=done.id, amount=usd(done.amount), note=parsed[1]))


def _flag_reason(flag: str | None) -> str:
    reasons = {
        "same_payer": _("affiliate.flag_same_payer"),
        "referral_burst": _("affiliate.flag_referral_burst"),
        "refund_rate": _("affiliate.flag_refund_rate"),
    }
    return reasons.get(flag or "", flag or "")


def _review_keyboard(commission_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("affiliate.approve"), callback_data=FlagCB(action="ok", commission=commission_id)
    )
    kb.button(
        text=_("affiliate.reject"), callback_data=FlagCB(action="no", commission=commission_id)
    )
    return kb.as_markup()


@router.message(cmd("commissions_flagged"), flags=OWNER)
async def flagged(message: Message) -> None:
    rows = await affiliates.flagged()
    if not rows:
        await message.answer(_("affiliate.flagged_none"))
        return
    for c in rows[:20]:
        await message.answer(
            fmt(
                _("affiliate.flagged_line"),
                id=c.id,
                amount=usd(c.amount),
                referrer=c.referral.referrer.first_name or "—",
                referrer_id=c.referral.referrer.telegram_id,
                referred=c.referral.referred.first_name or "—",
                reason=_(f"affiliate.flag_{c.flagged}"),
            ),  # fmt: skip
            reply_markup=_review_keyboard(c.id),
        )


@router.callback_query(FlagCB.filter(F.action.in_({"ok", "no"})), flags=OWNER)
async def review(query: CallbackQuery, callback_data: FlagCB, user: UserInfo) -> None:
    approve = callback_data.action == "ok"
    done = await affiliates.review(
        callback_data.commission, approve=approve, actor_id=user.telegram_id, now=clock.now()
    )
    template = _("affiliate.reviewed_ok") if approve else _("affiliate.reviewed_no")
    text = fmt(template, id=done.id, amount=usd(done.amount))
    await query.answer()
    if query.message is not None and hasattr(query.message, "edit_text"):
        await query.message.edit_text(text)


@router.message(cmd("revenue"), flags=OWNER)
async def revenue_report(message: Message, command: CommandObject) -> None:
    arg = (command.args or "").strip().lower()
    now = clock.now()
    if arg in {"chart", _("revenue.chart_word").lower()}:
        series = await revenue.history(now)
        png = revenue.plot_history(
            series, _("revenue.chart_title"), _("revenue.chart_mrr"), _("revenue.chart_subs")
        )
        await message.answer_photo(BufferedInputFile(png, filename="revenue.png"))
        return
    if arg:
        await message.answer(_("revenue.usage"))
        return
    r = await revenue.report(now)
    plans = "\n".join(
        str(fmt(_("revenue.plan_line"), name=plan_name(code), n=Number(n, 0)))
        for code, n in r.subscribers_by_plan.items()
    ) or _("revenue.no_subscribers")
    await message.answer(
        fmt(
            _("revenue.report"),
            month=r.month_start.date(),
            mrr=usd(r.mrr_cents),
            subscribers=Number(r.subscribers, 0),
            plans=Html(plans),
            arpu=usd(r.arpu_cents),
            new=Number(r.new_this_month, 0),
            churned=Number(r.churned_this_month, 0),
            trials=Number(r.trials_started, 0),
            trials_running=Number(r.trials_running, 0),
            converted=Number(r.trials_converted, 0),
            conversion=Number(round(r.conversion_pct, 1), 1),
            stars=usd(r.stars_revenue_cents),
            stars_xtr=Number(r.stars_received, 0),
            card=usd(r.card_revenue_cents),
            refunds=Number(r.refunds, 0),
            refunded=usd(r.refunded_cents),
            owed=usd(r.commissions_owed_cents),
        )
    )
