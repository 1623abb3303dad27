"""Owner and admin tools: /admin, /users, /role (owner only), /ban, /unban.

Role and ban changes go through `services.users.access`, which tells the user what changed for them;
here the own process's cache is invalidated at once and the user's command menu refreshed.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.commands import cmd
from handlers.keyboards import AdminCB, admin_keyboard, user_actions_keyboard
from handlers.menus import menu_role, refresh_user_menu
from handlers.render import Html, as_plain_text, fmt, role_name, user_card
from models.users import Role
from services.text.numbers import looks_numeric
from services.users import access
from services.users import profiles as users_service
from services.users.cache import UserCache
from services.users.profiles import UserInfo
from services.users.registration import with_access

router = Router(name=__name__)
ADMIN = {"role": Role.ADMIN}
OWNER = {"role": Role.OWNER}


@router.message(cmd("admin"), flags=ADMIN)
async def admin_menu(message: Message) -> None:
    await message.answer(_("admin.title"), reply_markup=admin_keyboard())


@router.message(cmd("users"), flags=ADMIN)
async def find_users(message: Message, command: CommandObject) -> None:
    query = (command.args or "").strip()
    if query and (query.startswith("@") or looks_numeric(query)):  # find() checks the id
        found = await users_service.find(query)
        await message.answer(
            user_card(found),
            reply_markup=user_actions_keyboard(found.telegram_id, banned=found.is_banned),
        )
        return
    await message.answer(await _users_list(query))


async def _users_list(query: str) -> str:
    rows = await users_service.search(query)
    if not rows:
        return _("admin.users_none")
    counts = await users_service.count_by_role()
    summary = Html(", ".join(f"{role_name(r)}: {n}" for r, n in counts.items()))
    lines = [fmt(_("admin.users_title"), summary=summary), ""]
    lines += [
        fmt("• {name} — <code>{id}</code> — {role}", name=u.display_name, id=u.telegram_id,
            role=role_name(u.role))
        for u in rows
    ]  # fmt: skip
    lines += ["", _("admin.users_hint")]
    return "\n".join(lines)


@router.message(cmd("role"), flags=OWNER)
async def set_role(
    message: Message,
    command: CommandObject,
    user: UserInfo,
    user_cache: UserCache,
    bot: Bot,
    i18n: I18n,
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2:
        await message.answer(_("admin.role_usage"))
        return
    updated = await access.set_role(user, parts[0], parts[1])
    user_cache.invalidate(updated.telegram_id)
    shown = menu_role(await with_access(updated))  # a paying visitor keeps the paid menu
    await refresh_user_menu(bot, i18n, updated.telegram_id, shown, updated.language)
    await message.answer(
        fmt(_("admin.role_done"), name=updated.display_name, role=role_name(updated.role))
    )


@router.message(cmd("ban", "unban"), flags=ADMIN)
async def ban(
    message: Message,
    command: CommandObject,
    user: UserInfo,
    user_cache: UserCache,
    bot: Bot,
    i18n: I18n,
) -> None:
    query = (command.args or "").strip()
    banned = command.command.casefold() == "ban"  # /BAN is /ban
    if not query:
        await message.answer(_("admin.ban_usage") if banned else _("admin.unban_usage"))
        return
    updated = await access.set_banned(user, query, banned=banned)
    user_cache.invalidate(updated.telegram_id)
    await refresh_user_menu(bot, i18n, updated.telegram_id, menu_role(updated), updated.language)
    text = _("admin.banned") if banned else _("admin.unbanned")
    await message.answer(fmt(text, name=updated.display_name))


@router.callback_query(AdminCB.filter(F.action.in_({"ban", "unban"})), flags=ADMIN)
async def ban_button(
    query: CallbackQuery,
    callback_data: AdminCB,
    user: UserInfo,
    user_cache: UserCache,
    bot: Bot,
    i18n: I18n,
) -> None:
    banned = callback_data.action == "ban"
    updated = await access.set_banned(user, str(callback_data.user_id), banned=banned)
    user_cache.invalidate(updated.telegram_id)
    await refresh_user_menu(bot, i18n, updated.telegram_id, menu_role(updated), updated.language)
    text = _("admin.banned") if banned else _("admin.unbanned")
    await query.answer(as_plain_text(fmt(text, name=updated.display_name)))  # a toast: no HTML
    if isinstance(query.message, Message):
        await query.message.edit_text(
            user_card(updated),
            reply_markup=user_actions_keyboard(updated.telegram_id, banned=banned),
        )


@router.callback_query(AdminCB.filter(F.action == "users"), flags=ADMIN)
async def users_button(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(await _users_list(""))


@router.callback_query(AdminCB.filter(F.action == "stats"), flags=ADMIN)
async def stats_button(query: CallbackQuery) -> None:
    counts = await users_service.count_by_role()
    await query.answer()
    if isinstance(query.message, Message):
        lines = [_("admin.stats_title")] + [f"{role_name(r)}: {n}" for r, n in counts.items()]
        await query.message.answer("\n".join(lines))
