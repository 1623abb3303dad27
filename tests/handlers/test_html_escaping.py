"""Hostile names and typed text through the real dispatcher, sent to a session that refuses
HTML Telegram would refuse; and the error router when Telegram refuses a reply.

Updates are fed as polling does: a method a handler RETURNS goes through aiogram's
`silent_call_request`, which drops a failure (so a refused returned reply is simply missing).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Message, Update
from babel.messages.pofile import read_po

from bot.app import build_i18n, create_dispatcher
from core import metrics
from core.settings import load_settings
from handlers import detach_router
from handlers.keyboards import AdminCB
from handlers.render import as_plain_text, help_text
from models.notifications import Notification
from models.users import Role
from services.errors import InvalidInput
from services.users import profiles as users_service
from tests.handlers.recording import BOT_TOKEN, RecordingSession, callback_update, text_update
from tgemu.errors import ApiError
from tgemu.text import parse_html

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "es", "ru")
OWNER, ADMIN, VISITOR, TARGET = 1, 2, 4, 5
HOSTILE = ["<i>Bob", "a & b", "</b>"]
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|code|pre|a|tg-spoiler|span|blockquote|tg-emoji)"
    r"(?:\s[^<>]*)?>"
)


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse `text` with parse_mode=HTML, or None.

    The emulator's parser checks tags (supported, balanced); on top, Telegram's documented rule
    that every `<`, `>` and `&` outside a tag or entity be escaped (the emulator lets a lone `&`
    or `<` through).
    """
    try:
        parse_html(text)
    except ApiError as exc:
        return str(exc)
    bare = _ENTITY.sub("", _TAG.sub("", text))
    return "an unescaped <, > or &" if any(c in bare for c in "<>&") else None


class StrictSession(RecordingSession):
    """Records accepted calls; refuses HTML texts Telegram would refuse, as Telegram does."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse_html = False  # refuse every HTML text (an apology that cannot be sent)
        self.refuse_all = False  # refuse every message (even a plain-text one)
        self.refused: list[TelegramMethod[Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        text = getattr(method, "text", None)
        if type(method).__name__ in ("SendMessage", "EditMessageText") and text is not None:
            mode = method.parse_mode  # type: ignore[attr-defined]
            if isinstance(mode, Default):
                mode = bot.default[mode.name]
            problem = None
            if self.refuse_all or (mode == ParseMode.HTML and self.refuse_html):
                problem = "refused by the test"
            elif mode == ParseMode.HTML:
                problem = html_problem(text)
            if problem is not None:
                self.refused.append(method)
                detail = f"Bad Request: can't parse entities: {problem}"
                raise TelegramBadRequest(method=method, message=detail)
        return await super().make_request(bot, method, timeout)


boom_router = Router(name="escaping-boom")


@boom_router.message(Command("badhtml"))
async def bad_html(message: Message) -> None:
    await message.answer("<i>unclosed")


@boom_router.message(Command("boom"))
async def boom(message: Message) -> None:
    raise RuntimeError("kaboom")


@boom_router.message(Command("typed"))
async def typed(message: Message) -> None:
    raise InvalidInput("error.price_invalid", text=(message.text or "").split(" ", 1)[1])


@boom_router.callback_query(F.data == "levels")
async def levels(query: CallbackQuery) -> None:
    raise InvalidInput("error.signal_levels")


@dataclass
class Harness:
    bot: Bot
    dp: Dispatcher
    session: StrictSession

    async def feed(self, update: Update) -> list[TelegramMethod[Any]]:
        before = len(self.session.calls)
        result = await self.dp.feed_update(self.bot, update)
        if isinstance(result, TelegramMethod):
            await Dispatcher.silent_call_request(self.bot, result)
        return self.session.calls[before:]

    async def send(self, user_id: int, text: str, first_name: str | None = None) -> list[str]:
        update = text_update(user_id, text)
        if first_name is not None:  # Telegram sends any first name a user chose
            sender = update.message.from_user.model_copy(update={"first_name": first_name})  # type: ignore[union-attr]
            message = update.message.model_copy(update={"from_user": sender})  # type: ignore[union-attr]
            update = update.model_copy(update={"message": message})
        sent = ("SendMessage", "EditMessageText")
        return [c.text for c in await self.feed(update) if type(c).__name__ in sent]  # type: ignore[attr-defined]


@pytest.fixture
async def h(database: str) -> AsyncIterator[Harness]:
    settings = load_settings(
        _env_file=None, owner_ids=str(OWNER), throttle_rate=1000, throttle_burst=1000
    )
    session = StrictSession()
    bot = Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    detach_router(boom_router)
    dp = create_dispatcher(settings, bot, build_i18n(), extra_routers=[boom_router])
    await users_service.seed(ADMIN, "Adm", "adm", Role.ADMIN)
    yield Harness(bot, dp, session)


def esc(text: str) -> str:
    return escape(text, quote=False)


def assert_sendable(text: str) -> None:
    assert html_problem(text) is None, text


@pytest.mark.parametrize("name", HOSTILE)
async def test_start_greets_a_hostile_name(h: Harness, name: str) -> None:
    (welcome,) = await h.send(VISITOR, "/start", first_name=name)
    assert welcome.startswith(f"Welcome to SignalDesk, {esc(name)}! ")
    assert_sendable(welcome)
    assert as_plain_text(welcome).startswith(f"Welcome to SignalDesk, {name}! ")


@pytest.mark.parametrize("name", HOSTILE)
async def test_start_names_a_hostile_referrer(h: Harness, name: str) -> None:
    referrer = await users_service.seed(TARGET, name, None, Role.SUBSCRIBER)
    texts = await h.send(VISITOR, f"/start ref_{referrer.referral_code}")
    assert texts[0] == f"You joined through {esc(name)}'s invitation. Thanks!"
    assert len(texts) == 2
    for text in texts:
        assert_sendable(text)


@pytest.mark.parametrize("name", HOSTILE)
async def test_users_list_and_card_escape_names(h: Harness, name: str) -> None:
    await users_service.seed(TARGET, name, None, Role.PUBLIC)
    (listing,) = await h.send(OWNER, "/users")
    assert f"• {esc(name)} — <code>{TARGET}</code> — visitor" in listing
    assert_sendable(listing)
    (card,) = await h.send(ADMIN, f"/users {TARGET}")
    assert card.startswith(f"<b>{esc(name)}</b>\n")
    assert_sendable(card)


@pytest.mark.parametrize("name", HOSTILE)
async def test_role_and_ban_replies_escape_names(h: Harness, name: str) -> None:
    await users_service.seed(TARGET, name, None, Role.PUBLIC)
    assert await h.send(OWNER, f"/role {TARGET} subscriber") == [f"{esc(name)} is now subscriber."]
    assert await h.send(ADMIN, f"/ban {TARGET}") == [f"{esc(name)} is banned."]
    calls = await h.feed(callback_update(ADMIN, AdminCB(action="unban", user_id=TARGET).pack()))
    (toast,) = [c for c in calls if type(c).__name__ == "AnswerCallbackQuery"]
    assert toast.text == f"{name} is unbanned."  # type: ignore[attr-defined]  # plain text
    (card,) = [c.text for c in calls if type(c).__name__ == "EditMessageText"]  # type: ignore[attr-defined]
    assert_sendable(card)


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/role @adm <b>king", "Unknown role “&lt;b&gt;king”."),
        ("/role @</b> admin", "No user found for “@&lt;/b&gt;”."),
        ("/users @<i>x", "No user found for “@&lt;i&gt;x”."),
        ("/ban a&b", "No user found for “a&amp;b”."),
        ("/typed <i>1.5", "“&lt;i&gt;1.5” is not a price."),
    ],
)
async def test_error_parameters_are_escaped(h: Harness, command: str, reply: str) -> None:
    (text,) = await h.send(OWNER, command)
    assert text.startswith(reply)
    assert_sendable(text)


async def test_error_alert_on_a_button_is_plain_text(h: Harness) -> None:
    calls = await h.feed(callback_update(VISITOR, "levels"))
    (alert,) = [c for c in calls if type(c).__name__ == "AnswerCallbackQuery"]
    assert "stop < entry < take-profit" in alert.text  # type: ignore[attr-defined]
    assert alert.show_alert  # type: ignore[attr-defined]


def _handler_errors() -> float:
    return float(metrics.ERRORS.labels("handler")._value.get())


async def test_a_refused_send_reaches_the_error_router(h: Harness) -> None:
    errors = _handler_errors()
    texts = await h.send(VISITOR, "/badhtml")
    assert len(h.session.refused) == 1
    (apology,) = texts
    assert apology.startswith("Sorry, something went wrong on our side.")
    assert _handler_errors() == errors + 1
    (alert,) = await Notification.filter(kind="ops.alert", chat_id=OWNER)
    assert "TelegramBadRequest" in alert.payload["text"]


@pytest.mark.parametrize("command", ["/start", "/frobnicate"])
async def test_a_refused_reply_to_a_command_reaches_the_error_router(
    h: Harness, command: str
) -> None:
    """Awaited, not returned: a returned method's failure is dropped by silent_call_request."""
    h.session.refuse_html = True
    errors = _handler_errors()
    (apology,) = await h.send(VISITOR, command)
    assert apology.startswith("Sorry, something went wrong on our side.")
    assert _handler_errors() == errors + 1
    assert await Notification.filter(kind="ops.alert", chat_id=OWNER).count() == 1


@pytest.mark.parametrize(
    ("command", "start"), [("/boom", "Sorry"), ("/role @adm king", "Unknown")]
)
async def test_a_refused_error_reply_goes_again_as_plain_text(
    h: Harness, command: str, start: str
) -> None:
    h.session.refuse_html = True
    texts = await h.send(OWNER, command)
    (plain,) = [c for c in h.session.of("SendMessage") if c.parse_mode is None]  # type: ignore[attr-defined]
    assert texts == [plain.text] and plain.text.startswith(start)  # type: ignore[attr-defined]


async def test_the_error_router_never_raises(h: Harness) -> None:
    h.session.refuse_all = True
    assert await h.send(OWNER, "/boom") == []  # nothing could be sent, and nothing raised
    assert await h.send(OWNER, "/role @adm king") == []
    assert len(h.session.refused) == 4  # each: the HTML reply, then the plain-text one


# -- texts that hot commands RETURN (sent in the webhook response; a failure is never seen) --
@pytest.mark.parametrize("lang", LANGS)
def test_returned_replies_are_always_valid_html(lang: str) -> None:
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale(lang):
        texts = [help_text(role) for role in Role]
        texts += [i18n.gettext(k) for k in ("menu.title", "cancel.done", "cancel.nothing")]
        texts += [i18n.gettext("language.choose")]
    for text in texts:
        assert_sendable(text)


@pytest.mark.parametrize("lang", LANGS)
def test_every_translation_is_valid_telegram_html(lang: str) -> None:
    with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        messages = [m for m in read_po(fh) if m.id]
    bad = {}
    for m in messages:  # a plural message: every form
        texts = m.string if isinstance(m.string, tuple) else (m.string,)
        for i, text in enumerate(texts):
            bad[f"{m.id}[{i}]"] = html_problem(re.sub(r"\{\w+\}", "x", text))
    assert {k: v for k, v in bad.items() if v} == {}
