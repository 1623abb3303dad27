"""Issue 9, items 6 and 8, as users meet them through the emulator: the chat's command menu in
the saved language whatever the Telegram app's language; one role vocabulary; deep links that
count once; admin actions that change nothing say so."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import AppRunner
from models.audit import AuditLog
from models.users import User, UserStatus
from services.users import profiles as users_service
from tests.e2e.conftest import OWNER, SUB, VISITOR, say, text
from tests.waiting import until
from tgemu import EmulatorClient

IVAN, ZOE = 1000010, 1000011
Menu = list[dict[str, str]]


async def menu_until(
    tg: EmulatorClient, user: int, ok: Callable[[Menu], bool], language: str | None = None
) -> Menu:
    """The user's menu in their chat once `ok` holds (the default menu is set at start-up in
    the background); fails with the last menu seen."""
    return await until(
        lambda: tg.commands(user, user, language_code=language),
        f"the menu of chat {user} ({language or 'default'}) to match",
        accept=ok,
    )


def describe(menu: Menu, command: str) -> str:
    return next((c["description"] for c in menu if c["command"] == command), "")


async def test_the_chat_menu_follows_the_saved_language(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    await tg.add_user(IVAN, "Ivan", username="ivan", language_code="ru")
    await say(tg, IVAN, "/start")
    await menu_until(tg, IVAN, lambda m: describe(m, "language") == "Сменить язык")  # app's
    assert text(await say(tg, IVAN, "/language es")) == "Idioma guardado: español."
    assert (await User.get(telegram_id=IVAN)).language == "es"
    for app_language in (None, "ru", "en"):  # whatever the app runs in: the saved language
        menu = await tg.commands(IVAN, IVAN, language_code=app_language)
        assert describe(menu, "language") == "Cambiar el idioma", app_language
        assert "devices" not in [c["command"] for c in menu]  # still a visitor's menu
    assert text(await say(tg, IVAN, "/language klingon")).startswith("El idioma “klingon”")


async def test_the_saved_language_menu_follows_role_changes(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    prompt = await say(tg, SUB, "/language")
    await tg.press(SUB, SUB, prompt["message_id"], text="Русский")
    await tg.wait_for(SUB, lambda m: "Язык сохранён" in text(m))
    menu = await tg.commands(SUB, SUB, language_code="en")
    assert describe(menu, "devices") == "ваши терминалы MetaTrader"
    assert text(await say(tg, OWNER, "/role @sam admin")) == "@sam is now admin."
    menu = await tg.commands(SUB, SUB, language_code="es")
    assert describe(menu, "users") == "Найти пользователей"
    # the word the bot prints for a role is a word /role takes, in any language
    assert text(await say(tg, OWNER, "/role @sam visitante")) == "@sam is now visitor."
    menu = await tg.commands(SUB, SUB, language_code="en")
    assert describe(menu, "language") == "Сменить язык" and describe(menu, "users") == ""
    assert text(await say(tg, OWNER, "/role @sam подписчик")) == "@sam is now subscriber."
    assert text(await say(tg, OWNER, "/role @sam public")) == "@sam is now visitor."  # alias


async def test_a_deep_link_counts_on_the_first_contact_only(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    sam = await users_service.get_by_telegram_id(SUB)
    link = f"/start ref_{sam.referral_code}"
    await say(tg, VISITOR, "/start")  # Nico is registered now
    claimed = await say(tg, VISITOR, link)
    assert text(claimed).startswith("Ya estás registrado, así que este enlace de invitación")
    welcome = await tg.wait_for_bot(VISITOR, timeout=10)
    assert "invitación de Sam" not in text(claimed) + text(welcome)
    assert (await User.get(telegram_id=VISITOR)).referred_by_id is None  # type: ignore[attr-defined]

    await tg.add_user(ZOE, "Zoe", username="zoe")
    assert text(await say(tg, ZOE, link)) == "You joined through Sam's invitation. Thanks!"
    # the welcome follows the thanks; wait for it so the next reply read is the second link's
    await tg.wait_for(ZOE, lambda m: text(m).startswith("Welcome to SignalDesk, Zoe!"), timeout=10)
    zoe = await User.get(telegram_id=ZOE)
    assert zoe.referred_by_id == sam.id  # type: ignore[attr-defined]
    again = text(await say(tg, ZOE, link))  # the same link again: no second claim
    assert again.startswith("You are already registered")
    assert await AuditLog.filter(action="user.referred").count() == 1


async def test_admin_actions_that_change_nothing_say_so(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    await say(tg, VISITOR, "/start")
    assert text(await say(tg, OWNER, "/unban @nico")) == "Nothing changed: @nico is not banned."
    assert text(await say(tg, OWNER, "/ban @nico")) == "@nico is banned."
    assert text(await say(tg, OWNER, "/ban @nico")) == "Nothing changed: @nico is already banned."
    assert (await User.get(telegram_id=VISITOR)).status == UserStatus.BANNED
    assert text(await say(tg, OWNER, "/unban @nico")) == "@nico is unbanned."
    assert text(await say(tg, OWNER, "/role @sam subscriber")) == (
        "Nothing changed: @sam already is subscriber."
    )
    assert text(await say(tg, OWNER, "/role @sam suscriptor")) == (
        "Nothing changed: @sam already is subscriber."
    )
    actions = await AuditLog.filter(
        action__in=["user.banned", "user.unbanned", "user.role_changed"]
    )
    assert sorted(a.action for a in actions) == ["user.banned", "user.unbanned"]
    # the ban button on a card that is out of date: the alert says nothing changed
    card = await say(tg, OWNER, "/users @nico")
    await say(tg, OWNER, "/ban @nico")
    pressed = await tg.press(OWNER, OWNER, card["message_id"], text="🚫 Ban")
    answer = await tg.callback_answer(pressed)
    assert answer["text"] == "Nothing changed: @nico is already banned."
