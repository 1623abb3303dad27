"""Plans and access: /plans (the catalog for Stars, the user's current plan and Buy buttons),
/paysupport (Telegram requires bots that sell to answer it) and /grant (admins: a complimentary
plan).

Buying: "Subscribe (30 days, renews)" makes a `createInvoiceLink` subscription link opened with
a URL button; "30 days" / "90 days" send a Stars invoice (`sendInvoice`, XTR, one price item, no
provider token). Choosing a cheaper plan while a dearer one renews schedules a downgrade at
renewal (after a confirm button) instead of charging now.

The bot never links to card payments: Telegram's rule for digital goods sold in bots.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LabeledPrice, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core import clock
from core.settings import Settings
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from models.users import Role
from services.billing import changes, refunds, storefront
from services.billing.catalog import Feature, Offer
from services.billing.checkout import Checkout, Kind
from services.billing.entitlements import GRACE, Access
from services.text.formatting import Number
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
SUBSCRIPTION_PERIOD_S = 2_592_000  # Telegram's only subscription period (30 days)
FEATURE_ORDER: tuple[Feature, ...] = tuple(Feature)


def plan_name(code: str | None) -> str:
    """The plan's name in the reader's language (its code for a plan without a translation)."""
    if code is None:
        return _("plan.free")
    key = f"plan.{code}"
    name = _(key)
    return code.replace("_", " ").title() if name == key else name


class BuyCB(CallbackData, prefix="buy"):
    plan: str
    kind: str  # services.billing.checkout.Kind value


class DowngradeCB(CallbackData, prefix="dwn"):
    plan: str


def features_text(features: frozenset[Feature]) -> str:
    """The features' names in the reader's language, in catalog order."""
    return _features(features)


def _features(features: frozenset[Feature]) -> str:
    return ", ".join(_(f"feature.{f.value}") for f in FEATURE_ORDER if f in features)


def _offer_block(offer: Offer) -> Html:
    terms = offer.terms
    return fmt(
        _("shop.plan_line"),
        name=plan_name(offer.code),
        stars=Number(terms.stars_price or 0, 0),
        days=terms.period_days,
        features=_features(terms.features),
        terminals=plural("shop.terminals", terms.terminal_limit),
    )


def current_line(access: Access) -> Html:
    """The user's plan and how it continues."""
    if not access.paid:
        return Html(_("shop.current_free"))
    name = plan_name(access.plan)
    if access.complimentary or access.ends_at is None:
        return fmt(_("shop.current_complimentary"), name=name)
    if access.in_grace:
        return fmt(_("shop.current_grace"), name=name, ended=access.ends_at,
                   until=access.ends_at + GRACE)  # fmt: skip
    how = _("shop.current_renews") if access.renews else _("shop.current_ends")
    return fmt(how, name=name, date=access.ends_at)


async def _buy_keyboard(offers: tuple[Offer, ...], user: UserInfo) -> InlineKeyboardMarkup | None:
    """The "Try it free" buttons (handlers.trials), then per plan a Subscribe button and
    "30 days" / "90 days" (one-off) side by side."""
    # handlers.trials imports this module's names: imported here, when both are loaded
    from handlers.trials import add_trial_buttons

    kb = InlineKeyboardBuilder()
    trials = await add_trial_buttons(kb, user)
    for offer in offers:
        name = plan_name(offer.code)
        kb.button(
            text=fmt(_("shop.btn_subscribe"), name=name),
            callback_data=BuyCB(plan=offer.code, kind=Kind.SUBSCRIPTION.value),
        )
        for kind in (Kind.ONCE_30, Kind.ONCE_90):
            kb.button(
                text=fmt(_("shop.btn_once"), name=name, days=kind.days),
                callback_data=BuyCB(plan=offer.code, kind=kind.value),
            )
    kb.adjust(*([1] * trials + [1, 2] * len(offers)))
    return kb.as_markup() if offers or trials else None


async def show_plans(message: Message, user: UserInfo) -> None:
    """The catalog as `user` may buy it, with a Buy button row per plan (/plans, Upgrade)."""
    view = await storefront.plans_for(user, clock.now())
    blocks = [Html(_("shop.title")), current_line(view.access)]
    pending = await changes.scheduled(user.id)
    if pending is not None:
        blocks.append(
            fmt(_("shop.scheduled"), name=plan_name(pending.plan), date=pending.effective_at)
        )
    blocks += [_offer_block(o) for o in view.offers] or [Html(_("shop.none"))]
    blocks.append(Html(_("shop.footer")))
    await message.answer("\n\n".join(blocks), reply_markup=await _buy_keyboard(view.offers, user))


class BotStars:
    """StarsPort and RefundPort over aiogram's Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def edit_subscription(self, telegram_id: int, charge_id: str, *, canceled: bool) -> None:
        await self.bot.edit_user_star_subscription(
            user_id=telegram_id, telegram_payment_charge_id=charge_id, is_canceled=canceled
        )

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        try:
            await self.bot.refund_star_payment(
                user_id=telegram_id, telegram_payment_charge_id=charge_id
            )
        except TelegramBadRequest as exc:
            if "CHARGE_ALREADY_REFUNDED" in exc.message:
                raise refunds.AlreadyRefunded from exc
            raise


def invoice_text(plan: str, kind: Kind) -> tuple[str, str]:
    """An invoice's title and description in the reader's language."""
    name = plan_name(plan)
    if kind is Kind.SUBSCRIPTION:
        return fmt(_("checkout.title_subscription"), name=name), _("checkout.desc_subscription")
    title = fmt(_("checkout.title_once"), name=name, days=kind.days)
    return title, fmt(_("checkout.desc_once"), days=kind.days)


async def subscription_link(
    bot: Bot, checkout: Checkout, user: UserInfo, plan: str
) -> tuple[str, int]:
    """A fresh 30-day Stars subscription link for `plan` (createInvoiceLink) and its price."""
    terms = await checkout.prepare(user, plan, Kind.SUBSCRIPTION, clock.now())
    title, description = invoice_text(plan, Kind.SUBSCRIPTION)
    link = await bot.create_invoice_link(
        title=title[:32], description=description[:255], payload=terms.payload,
        currency="XTR", prices=[LabeledPrice(label=title[:32], amount=terms.stars)],
        subscription_period=SUBSCRIPTION_PERIOD_S,
    )  # fmt: skip
    return link, terms.stars


def pay_button(url: str, stars: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=fmt(_("checkout.btn_pay_link"), stars=Number(stars, 0)), url=url)
    return kb.as_markup()


@router.message(cmd("plans"))
async def plans(message: Message, user: UserInfo) -> None:
    await show_plans(message, user)


async def _is_downgrade(user: UserInfo, plan: str) -> bool:
    return user.access is not None and await changes.is_downgrade(user.access, plan)


@router.callback_query(BuyCB.filter())
async def buy(
    query: CallbackQuery, callback_data: BuyCB, user: UserInfo, checkout: Checkout, bot: Bot
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    kind = Kind(callback_data.kind)
    if await _is_downgrade(user, callback_data.plan):
        await query.answer()
        await _offer_downgrade(query.message, user, callback_data.plan)
        return
    terms = await checkout.prepare(user, callback_data.plan, kind, clock.now())
    await query.answer()
    name = plan_name(terms.plan)
    if kind is Kind.SUBSCRIPTION:
        link, _stars = await subscription_link(bot, checkout, user, terms.plan)
        await query.message.answer(
            fmt(_("checkout.link"), name=name, stars=Number(terms.stars, 0)),
            reply_markup=pay_button(link, terms.stars),
        )
        return
    title = fmt(_("checkout.title_once"), name=name, days=terms.days)
    await bot.send_invoice(
        chat_id=query.message.chat.id, title=title[:32],
        description=fmt(_("checkout.desc_once"), days=terms.days)[:255], payload=terms.payload,
        currency="XTR", prices=[LabeledPrice(label=title[:32], amount=terms.stars)],
    )  # fmt: skip


async def _offer_downgrade(message: Message, user: UserInfo, plan: str) -> None:
    access = user.access
    assert access is not None and access.ends_at is not None  # _is_downgrade
    kb = InlineKeyboardBuilder()
    kb.button(text=_("shop.btn_downgrade"), callback_data=DowngradeCB(plan=plan))
    keyboard = kb.as_markup()
    await message.answer(
        fmt(_("shop.downgrade_confirm"), current=plan_name(access.plan), name=plan_name(plan),
            date=access.ends_at),
        reply_markup=keyboard,
    )  # fmt: skip


@router.callback_query(DowngradeCB.filter())
async def downgrade(
    query: CallbackQuery, callback_data: DowngradeCB, user: UserInfo, bot: Bot
) -> None:
    done = await changes.schedule_downgrade(user, callback_data.plan, clock.now(), BotStars(bot))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            fmt(_("shop.downgrade_done"), current=plan_name(done.current),
                name=plan_name(done.plan), date=done.effective_at)
        )  # fmt: skip


@router.message(cmd("paysupport"))
async def paysupport(message: Message, settings: Settings) -> None:
    if settings.support_contact:
        contact = fmt("{contact}", contact=settings.support_contact)
    elif settings.owners:
        owner = min(settings.owners)
        contact = fmt('<a href="tg://user?id={id}">{label}</a>', id=owner, label=_("shop.owner"))
    else:
        contact = Html(_("shop.owner"))
    await message.answer(fmt(_("shop.paysupport"), contact=contact))


@router.message(cmd("grant"), flags=ADMIN)
async def grant(
    message: Message, command: CommandObject, user: UserInfo, user_cache: UserCache
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 3:
        await message.answer(_("shop.grant_usage"))
        return
    done = await storefront.grant(user, parts[0], parts[1], parts[2], clock.now())
    user_cache.invalidate(done.user.telegram_id)  # their next update loads the new access
    await message.answer(
        fmt(
            _("shop.granted"),
            user=done.user.display_name,
            name=plan_name(done.entitlement.plan),
            starts=done.entitlement.starts_at,
            ends=done.entitlement.ends_at,
        )
    )
