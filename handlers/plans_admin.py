"""/plans_admin (owner): every plan with its current version, and the edits of
`services.billing.plan_admin` (`/plans_admin price starter 109`, ...)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from core.settings import Settings
from handlers.commands import cmd
from handlers.render import Html, fmt, plural
from handlers.shop import plan_name
from models.users import Role
from services.billing import catalog, plan_admin
from services.billing.catalog import Offer
from services.text.formatting import Money, Number
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}


def _line(o: Offer) -> Html:
    t = o.terms
    flags = [
        Html(text)
        for text, on in ((_("plans_admin.hidden"), t.hidden),
                         (_("plans_admin.newcomers"), t.newcomers_only))
        if on
    ]  # fmt: skip
    if t.access_code:
        flags.append(fmt(_("plans_admin.code"), code=t.access_code))
    stars = fmt(_("plans_admin.stars"), stars=Number(t.stars_price, 0)) if t.stars_price else (
        Html(_("plans_admin.card_only"))
    )  # fmt: skip
    return fmt(
        _("plans_admin.line"), code=o.code, name=plan_name(o.code), version=o.version,
        usd=Money(t.usd_price, "USD"), stars=stars, days=t.period_days,
        terminals=plural("shop.terminals", t.terminal_limit), trial=t.trial_days,
        flags=Html(" · ".join(flags)) if flags else "",
    )  # fmt: skip


@router.message(cmd("plans_admin"), flags=OWNER)
async def plans_admin(
    message: Message, command: CommandObject, user: UserInfo, settings: Settings
) -> None:
    args = (command.args or "").split()
    if not args:
        lines = [Html(_("plans_admin.title"))] + [_line(o) for o in await catalog.offers()]
        await message.answer("\n".join(lines) + "\n\n" + _("plans_admin.help"))
        return
    done = await plan_admin.edit(user, args, settings.stars_usd_rate)
    text = _("plans_admin.new_version") if done.new_version else _("plans_admin.changed")
    await message.answer(fmt(text, version=done.after.version, line=_line(done.after)))
