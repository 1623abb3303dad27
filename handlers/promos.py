"""Promo codes: the owner's /promo_new, /promos and /promo_off; everyone's /redeem CODE (and
/start promo_CODE, through `redeem_reply`). Thin: `services.billing.promos` decides."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from core import clock
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from handlers.shop import plan_name
from models.users import Role
from services.billing import promos
from services.billing.promos import PromoInfo
from services.text.formatting import Percent
from services.users.cache import UserCache
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}


def _what(p: PromoInfo) -> Html:
    if p.percent_off is not None:
        return fmt(_("promo.percent"), percent=Percent(p.percent_off, 0))
    return plural("promo.days", p.extra_days or 0)


def _line(p: PromoInfo) -> Html:
    parts = [fmt("<code>{code}</code>: {what}", code=p.code, what=_what(p))]
    parts.append(
        fmt(_("promo.plan"), plan=plan_name(p.plan)) if p.plan else Html(_("promo.any_plan"))
    )
    if p.max_redemptions is None:
        parts.append(fmt(_("promo.uses"), uses=p.redemptions))
    else:
        parts.append(fmt(_("promo.uses_of"), uses=p.redemptions, max=p.max_redemptions))
    if p.expires_at is not None:
        parts.append(fmt(_("promo.expires"), expires=p.expires_at))
    if p.disabled:
        parts.append(Html(_("promo.off")))
    return Html(", ".join(parts))


@router.message(cmd("promo_new"), flags=OWNER)
async def promo_new(message: Message, command: CommandObject, user: UserInfo) -> None:
    args = (command.args or "").split()
    if not args:
        await message.answer(_("promo.usage"))
        return
    created = await promos.create(user, args, clock.now())
    await message.answer(fmt(_("promo.created"), line=_line(created), code=created.code))


@router.message(cmd("promos"), flags=OWNER)
async def promo_list(message: Message) -> None:
    codes = await promos.all_codes()
    lines = [Html(_("promo.title"))] + ([_line(p) for p in codes] or [Html(_("promo.none"))])
    await message.answer("\n".join(lines))


@router.message(cmd("promo_off"), flags=OWNER)
async def promo_off(message: Message, command: CommandObject, user: UserInfo) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(_("promo.usage_off"))
        return
    done = await promos.disable(user, code, clock.now())
    await message.answer(fmt(_("promo.disabled"), line=_line(done)))


async def redeem_reply(message: Message, user: UserInfo, user_cache: UserCache, code: str) -> None:
    """Redeem `code` for `user` and say what it gave (also used by /start promo_CODE)."""
    done = await promos.redeem(user, code, clock.now())
    user_cache.invalidate(user.telegram_id)
    if done.entitlement is not None:
        text = fmt(_("promo.redeemed_days"), days=done.promo.extra_days or 0,
                   name=plan_name(done.entitlement.plan), ends=done.entitlement.ends_at)  # fmt: skip
    else:
        plan = plan_name(done.promo.plan) if done.promo.plan else Html(_("promo.any_plan_lower"))
        text = fmt(_("promo.redeemed_percent"), percent=Percent(done.percent_off or 0, 0),
                   plan=plan)  # fmt: skip
    await message.answer(text)


@router.message(cmd("redeem"))
async def redeem(
    message: Message, command: CommandObject, user: UserInfo, user_cache: UserCache
) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(_("promo.usage_redeem"))
        return
    await redeem_reply(message, user, user_cache, code)
