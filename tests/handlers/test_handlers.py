"""Handlers through the real dispatcher with every middleware: what is sent, what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.methods import TelegramMethod
from aiogram.types import Message

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from handlers import detach_router
from handlers.keyboards import AdminCB, LangCB
from models.notifications import Notification
from models.users import Role, User, UserStatus
from services import audit
from services.users import profiles as users_service
from tests.handlers.recording import RecordingSession, callback_update, make_bot, text_update

OWNER, ADMIN, SUB, VISITOR = 1, 2, 3, 4
USERNAMES = {ADMIN: "adm", SUB: "sub"}


@dataclass
class Harness:
    bot: Bot
    dp: Dispatcher
    session: RecordingSession

    async def send(self, user_id: int, text: str, **kw: object) -> list[str]:
        before = len(self.session.calls)
        kw.setdefault("username", USERNAMES.get(user_id))
        result = await self.dp.feed_update(self.bot, text_update(user_id, text, **kw))
        if isinstance(result, TelegramMethod):  # as polling and webhooks do with a returned method
            await self.bot(result)
        sent = ("SendMessage", "EditMessageText")
        return [c.text for c in self.session.calls[before:] if type(c).__name__ in sent]

    async def press(self, user_id: int, data: str) -> list[object]:
        before = len(self.session.calls)
        result = await self.dp.feed_update(self.bot, callback_update(user_id, data))
        if isinstance(result, TelegramMethod):
            await self.bot(result)
        return self.session.calls[before:]


boom_router = Router(name="boom")


@boom_router.message(Command("boom"))
async def boom(message: Message) -> None:
    raise RuntimeError("kaboom")


@pytest.fixture
async def h(database: str) -> AsyncIterator[Harness]:
    settings = load_settings(
        _env_file=None, owner_ids=str(OWNER), throttle_rate=1000, throttle_burst=1000
    )
    bot, session = make_bot()
    detach_router(boom_router)
    dp = create_dispatcher(settings, bot, build_i18n(), extra_routers=[boom_router])
    await users_service.seed(ADMIN, "Adm", "adm", Role.ADMIN)
    await users_service.seed(SUB, "Sub", "sub", Role.SUBSCRIBER)
    yield Harness(bot, dp, session)


async def test_start_registers_and_welcomes(h: Harness) -> None:
    texts = await h.send(VISITOR, "/start", username="vis")
    assert "Welcome to SignalDesk" in texts[0]
    assert "visitor" in texts[0]
    row = await User.get(telegram_id=VISITOR)
    assert row.username == "vis" and row.role == Role.PUBLIC


async def test_start_with_referral_payload(h: Harness) -> None:
    referrer = await users_service.get_by_telegram_id(SUB)
    texts = await h.send(VISITOR, f"/start ref_{referrer.referral_code}")
    assert texts[0] == "You joined through Sub's invitation. Thanks!"
    assert (await User.get(telegram_id=VISITOR)).referred_by_id == referrer.id


@pytest.mark.parametrize(
    ("user", "present", "absent"),
    [
        (VISITOR, ["/start", "/help", "/language"], ["/admin", "/users", "/role"]),
        (ADMIN, ["/admin", "/users", "/ban"], ["/role"]),
        (OWNER, ["/admin", "/role"], []),
    ],
)
async def test_help_lists_only_allowed_commands(
    h: Harness, user: int, present: list[str], absent: list[str]
) -> None:
    (text,) = await h.send(user, "/help")
    for cmd in present:
        assert f"\n{cmd}" in text
    for cmd in absent:
        assert f"\n{cmd}" not in text


async def test_denied_admin_command_is_polite_and_audited(h: Harness) -> None:
    texts = await h.send(SUB, "/users")
    assert texts == ["Sorry, this action is not available for your account."]
    entry = (await audit.recent(action="access.denied"))[0]
    assert entry.actor_id == SUB
    assert entry.data["needed"] == "admin" and entry.target == "/users"


async def test_denied_callback_is_refused_on_the_server(h: Harness) -> None:
    """A hand-crafted callback (no button was ever shown) is still checked."""
    calls = await h.press(SUB, AdminCB(action="ban", user_id=VISITOR).pack())
    (answer,) = [c for c in calls if type(c).__name__ == "AnswerCallbackQuery"]
    assert answer.text == "Sorry, this action is not available for your account."
    assert answer.show_alert
    assert (await audit.recent(action="access.denied"))[0].data["kind"] == "callback"


async def test_role_is_owner_only(h: Harness) -> None:
    assert await h.send(ADMIN, "/role @sub admin") == [
        "Sorry, this action is not available for your account."
    ]
    assert await h.send(OWNER, "/role @sub admin") == ["@sub is now admin."]
    assert (await User.get(telegram_id=SUB)).role == Role.ADMIN
    menus = [c for c in h.session.of("SetMyCommands") if getattr(c.scope, "chat_id", None) == SUB]
    assert {"users", "ban"} <= {cmd.command for cmd in menus[0].commands}
    # the promoted user's cached role is refreshed at once
    (text,) = await h.send(SUB, "/help")
    assert "\n/users" in text


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/role", "Usage: /role &lt;id or @username&gt; &lt;visitor|subscriber|admin&gt;"),
        ("/role @sub", "Usage: /role"),
        ("/role @sub king", "Unknown role “king”. Use one of: visitor, subscriber, admin."),
        ("/role @ghost admin", "No user found for “@ghost”."),
        ("/role @sub owner", "Unknown role “owner”."),
    ],
)
async def test_role_bad_arguments_get_helpful_messages(
    h: Harness, command: str, reply: str
) -> None:
    (text,) = await h.send(OWNER, command)
    assert text.startswith(reply)


async def test_ban_and_unban(h: Harness) -> None:
    assert await h.send(ADMIN, "/ban") == ["Usage: /ban &lt;id or @username&gt;"]
    assert await h.send(ADMIN, "/ban @sub") == ["@sub is banned."]
    assert await h.send(SUB, "/help") == []  # a banned user's updates are dropped
    assert await h.send(ADMIN, f"/unban {SUB}") == ["@sub is unbanned."]
    assert (await User.get(telegram_id=SUB)).status == UserStatus.ACTIVE
    assert len(await h.send(SUB, "/help")) == 1


async def test_a_banned_admin_loses_the_admin_menu_and_gets_it_back(h: Harness) -> None:
    def chat_menu_calls() -> list[str]:
        return [
            type(c).__name__
            for c in h.session.calls
            if getattr(getattr(c, "scope", None), "chat_id", None) == ADMIN
        ]

    await h.send(OWNER, "/start")
    h.session.calls.clear()
    await h.send(OWNER, f"/ban {ADMIN}")
    assert chat_menu_calls() == ["DeleteMyCommands"] * 3  # en, es, ru: back to the public menu
    h.session.calls.clear()
    await h.send(OWNER, f"/unban {ADMIN}")
    assert chat_menu_calls() == ["SetMyCommands"] * 3
    admin_menu = [c for c in h.session.calls if type(c).__name__ == "SetMyCommands"][0]
    assert "ban" in [cmd.command for cmd in admin_menu.commands]


async def test_users_search_and_card(h: Harness) -> None:
    (listing,) = await h.send(ADMIN, "/users")
    assert "@sub" in listing and "@adm" in listing
    (card,) = await h.send(ADMIN, "/users @sub")
    assert "Role: subscriber" in card and f"<code>{SUB}</code>" in card


async def test_language_choice_persists_and_changes_replies(h: Harness) -> None:
    calls = await h.press(VISITOR, LangCB(code="es").pack())
    assert any(getattr(c, "text", "") == "Idioma guardado: español." for c in calls)
    assert (await User.get(telegram_id=VISITOR)).language == "es"
    assert await h.send(VISITOR, "/cancel") == ["No hay nada que cancelar."]


async def test_telegram_language_is_used_until_one_is_chosen(h: Harness) -> None:
    assert await h.send(VISITOR, "/cancel", language="ru") == ["Отменять нечего."]
    assert await h.send(VISITOR, "/cancel", language="de") == ["There is nothing to cancel."]


async def test_unknown_command_points_to_help(h: Harness) -> None:
    assert await h.send(VISITOR, "/frobnicate") == [
        "I don't know that command. Send /help to see the ones you can use."
    ]


async def test_unexpected_error_apologises_with_reference_and_alerts_owner(h: Harness) -> None:
    texts = await h.send(VISITOR, "/boom")
    apology = next(t for t in texts if t.startswith("Sorry, something went wrong"))
    ref = apology.rsplit("Reference: ", 1)[1]
    alerts = await Notification.filter(kind="ops.alert", chat_id=OWNER)
    assert len(alerts) == 1
    assert (
        f"ref {ref}" in alerts[0].payload["text"] and "RuntimeError" in alerts[0].payload["text"]
    )
    await h.send(VISITOR, "/boom")  # a second identical failure is not re-alerted
    assert await Notification.filter(kind="ops.alert").count() == 1


async def test_throttling_drops_excess_with_one_warning(database: str) -> None:
    settings = load_settings(_env_file=None, throttle_rate=0.001, throttle_burst=3)
    bot, session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n())
    for _ in range(6):
        result = await dp.feed_update(bot, text_update(VISITOR, "/cancel"))
        if isinstance(result, TelegramMethod):
            await bot(result)
    texts = session.texts()
    assert texts.count("There is nothing to cancel.") == 3
    assert texts.count("You are sending too fast. Please wait a few seconds.") == 1
    assert len(texts) == 4


# Forged callback data: the ids are the user's to choose, and must never reach a query.
FORGED_IDS = ["99999999999999999999999", str(2**63), str(2**64), "-5", "0", "+5", "١٢", " 7"]


@pytest.mark.parametrize(
    ("user", "template"),
    [
        (SUB, "sig:approve:{}"),
        (SUB, "sig:details:{}"),
        (SUB, "sig:consent:{}"),
        (ADMIN, "adm:ban:{}"),
        (ADMIN, "adm:unban:{}"),
        (SUB, "pos:close:dev_abcdefghijkl:{}"),
        (SUB, "pos:close_yes:dev_abcdefghijkl:{}"),
    ],
)
async def test_forged_ids_in_callbacks_get_an_alert_not_a_query(
    h: Harness, user: int, template: str
) -> None:
    stale = "This button is out of date or not valid. Open the menu again with /menu."
    for value in FORGED_IDS:
        calls = await h.press(user, template.format(value))
        (answer,) = [c for c in calls if type(c).__name__ == "AnswerCallbackQuery"]
        if template.startswith("adm:") and value == "0":  # 0 means "no user" in AdminCB
            assert (answer.text or "").startswith("“0” is not a Telegram user id")
        else:
            assert answer.text == stale, value
        assert answer.show_alert
        assert not [c for c in calls if type(c).__name__ == "SendMessage"], value
    assert not await Notification.filter(kind="ops.alert").exists()


@pytest.mark.parametrize("data", ["zzz:1", "sig", "adm:nope:1:2:3", "post:buy", "pos:close:dev_x"])
async def test_buttons_no_handler_takes_are_answered(h: Harness, data: str) -> None:
    calls = await h.press(ADMIN, data)
    (answer,) = [c for c in calls if type(c).__name__ == "AnswerCallbackQuery"]
    assert answer.show_alert and "out of date" in (answer.text or "")
