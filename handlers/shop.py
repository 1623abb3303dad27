"""Plans and access: /plans (the catalog for Stars and the user's current plan), /paysupport
(Telegram requires bots that sell to answer it) and /grant (admins: a complimentary plan).

The bot never links to card payments: Telegram's rule for digital goods sold in bots.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from core import clock
from core.settings import Settings
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from models.users import Role
from services.billing import storefront
from services.billing.catalog import Feature, Offer
from services.billing.entitlements import GRACE, Access
from services.text.formatting import Number
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
FEATURE_ORDER: tuple[Feature, ...] = tuple(Feature)


def plan_name(code: str | None) -> str:
    """The plan's name in the reader's language (its code for a plan without a translation)."""
    if code is None:
        return _("plan.free")
    key = f"plan.{code}"
    name = _(key)
    return code.replace("_", " ").title() if name == key else name


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


@router.message(cmd("plans"))
async def plans(message: Message, user: UserInfo) -> None:
    view = await storefront.plans_for(user, clock.now())
    blocks = [Html(_("shop.title")), current_line(view.access)]
    blocks += [_offer_block(o) for o in view.offers] or [Html(_("shop.none"))]
    blocks.append(Html(_("shop.footer")))
    await message.answer("\n\n".join(blocks))


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
