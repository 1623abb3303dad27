"""Callback data (only through `CallbackData` subclasses) and the keyboards that use them."""

from __future__ import annotations

from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from models.users import Role
from services.signals.callbacks import UpgradeCB
from services.text.numbers import UserIdOrZeroField

LANGUAGE_NAMES = {"en": "English", "es": "Español", "ru": "Русский"}


class LangCB(CallbackData, prefix="lang"):
    code: str


class MenuCB(CallbackData, prefix="menu"):
    item: str


class AdminCB(CallbackData, prefix="adm"):
    action: str
    user_id: UserIdOrZeroField = 0  # range-checked: a forged id never reaches a query


# Keyboards are immutable pydantic models: build each (locale, variant) once and reuse it.


def _locale() -> str:
    return I18n.get_current().current_locale


@lru_cache(maxsize=64)
def language_keyboard(current: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = "✓ " if code == current else ""
        kb.button(text=f"{mark}{name}", callback_data=LangCB(code=code))
    kb.adjust(3)
    return kb.as_markup()


def menu_keyboard(role: Role, app_url: str | None = None) -> InlineKeyboardMarkup:
    """The menu; with `app_url` (the Mini App's page) an "Open app" button first."""
    return _menu_keyboard(role, _locale(), app_url)


@lru_cache(maxsize=64)
def _menu_keyboard(role: Role, locale: str, app_url: str | None = None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if app_url:
        kb.button(text=_("miniapp.open_app"), web_app=WebAppInfo(url=app_url))
    kb.button(text=_("menu.help"), callback_data=MenuCB(item="help"))
    kb.button(text=_("menu.language"), callback_data=MenuCB(item="language"))
    if role.at_least(Role.ADMIN):
        kb.button(text=_("menu.admin"), callback_data=MenuCB(item="admin"))
    if not role.at_least(Role.SUBSCRIBER):  # how a visitor gets real-time signals
        kb.button(text=_("signal.btn_upgrade"), callback_data=UpgradeCB(source="menu"))
    kb.adjust(*((1,) if app_url else ()), 2, 1)
    return kb.as_markup()


def admin_keyboard() -> InlineKeyboardMarkup:
    return _admin_keyboard(_locale())


@lru_cache(maxsize=8)
def _admin_keyboard(locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("admin.btn_users"), callback_data=AdminCB(action="users"))
    kb.button(text=_("admin.btn_stats"), callback_data=AdminCB(action="stats"))
    kb.adjust(2)
    return kb.as_markup()


def user_actions_keyboard(target_id: int, *, banned: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if banned:
        kb.button(
            text=_("admin.btn_unban"), callback_data=AdminCB(action="unban", user_id=target_id)
        )
    else:
        kb.button(text=_("admin.btn_ban"), callback_data=AdminCB(action="ban", user_id=target_id))
    return kb.as_markup()
