"""/alerts through the real dispatcher: the list with Delete buttons, adding with and without
`repeat` and a note, the usage on bad arguments, refusals in the user's words, and a forged
Delete button naming another user's alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from handlers.alerts import AlertCB
from models.alerts import AlertState, PriceAlert
from services.alerts import service
from services.alerts.service import NewAlert
from services.users import profiles
from tests.alerts.conftest import ELITE, PRO, STARTER, World
from tests.handlers.recording import RecordingSession, callback_update, make_bot, text_update


@dataclass
class Chat:
    bot: Bot
    dp: Dispatcher
    session: RecordingSession

    async def send(self, user_id: int, text: str) -> list[str]:
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, text_update(user_id, text))
        return self.texts(before)

    async def press(self, user_id: int, data: str) -> list[str]:
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, callback_update(user_id, data))
        return self.texts(before)

    def texts(self, since: int) -> list[str]:
        wanted = ("SendMessage", "EditMessageText", "AnswerCallbackQuery")
        return [getattr(c, "text", None) or "" for c in self.session.calls[since:]
                if type(c).__name__ in wanted]  # fmt: skip

    def last_markup(self) -> list[tuple[str, str]]:
        for call in reversed(self.session.calls):
            markup = getattr(call, "reply_markup", None)
            if markup is not None:
                return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]
        return []


@pytest.fixture
async def chat(world: World) -> AsyncIterator[Chat]:
    settings = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000)
    bot, session = make_bot()
    yield Chat(bot, create_dispatcher(settings, bot, build_i18n()), session)
    await bot.session.close()


def test_callback_data_fits_telegrams_64_bytes() -> None:
    assert len(AlertCB(action="del", alert_id=2**63 - 1).pack().encode()) <= 64


async def test_add_list_and_delete(chat: Chat) -> None:
    (empty,) = await chat.send(PRO, "/alerts")
    assert empty.startswith("You have no price alerts yet.")
    assert (
        "/alerts add XAUUSD above 2400 breakout" in empty
        and "Live symbols: EURUSD, XAUUSD" in empty
    )
    (added,) = await chat.send(PRO, "/alerts add xauusd above 2410 take <b>profit</b>")
    row = await PriceAlert.get(user__telegram_id=PRO)
    assert added == (f"✅ Alert #{row.id} set: <b>XAUUSD</b> above 2,410.00. Last price 2,400.00.")
    assert (row.note, row.repeat) == ("take <b>profit</b>", False)
    (added2,) = await chat.send(PRO, "/alerts add EURUSD cross 1.08 repeat")
    second = await PriceAlert.get(symbol="EURUSD")
    assert second.repeat and second.note == ""
    (listing,) = await chat.send(PRO, "/alerts")
    assert listing.startswith("<b>Your price alerts</b> (2 of 20 active)")
    assert (
        f"#{row.id} · <b>XAUUSD</b> above 2,410.00\n    📝 take &lt;b&gt;profit&lt;/b&gt;"
        in listing
    )
    assert (
        f"#{second.id} · <b>EURUSD</b> crossing 1.08000 · repeats, cool-down 5 minutes" in listing
    )
    assert chat.last_markup() == [
        (f"🗑 Delete #{second.id} EURUSD", AlertCB(action="del", alert_id=second.id).pack()),
        (f"🗑 Delete #{row.id} XAUUSD", AlertCB(action="del", alert_id=row.id).pack()),
    ]
    toast, edited = await chat.press(PRO, AlertCB(action="del", alert_id=row.id).pack())
    assert toast == f"Alert #{row.id} deleted."
    assert f"#{row.id}" not in edited and "(1 of 20 active)" in edited
    assert (await PriceAlert.get(id=row.id)).state is AlertState.DELETED


@pytest.mark.parametrize("text", ["/alerts add", "/alerts add XAUUSD above", "/alerts list",
                                  "/alerts remove 3"])  # fmt: skip
async def test_bad_arguments_get_the_usage(chat: Chat, text: str) -> None:
    (reply,) = await chat.send(PRO, text)
    assert reply.startswith("Add an alert:\n<code>/alerts add SYMBOL above|below|cross LEVEL")


@pytest.mark.parametrize(
    ("who", "text", "reply"),
    [
        (
            PRO,
            "/alerts add XAUUSD above 24x0",
            "“24x0” is not a price: type a number such as 2400.50.",
        ),
        (PRO, "/alerts add XAUUSD up 2410", "“up” is not a condition: use above, below or cross."),
        (
            PRO,
            "/alerts add XAUUSD above 2410.005",
            "2410.005 is not on XAUUSD's price grid: its tick is 0.01. Try 2,410.00 or 2,410.01.",
        ),
        (
            PRO,
            "/alerts add XAUUSD below 1000",
            "1,000.00 is 58.3% away from XAUUSD's last price of "
            "2,400.00; an alert may be at most 10% away.",
        ),
        (
            PRO,
            "/alerts add <i>X</i> above 1",
            "&lt;i&gt;X&lt;/i&gt; is not a symbol we know. Alerts can be set on: EURUSD, XAUUSD.",
        ),
        (
            STARTER,
            "/alerts add XAUUSD above 2410",
            "Your plan (Starter) does not include price "
            "alerts. The Pro plan allows 20: see /plans.",
        ),
    ],
)
async def test_refusals_say_why(chat: Chat, who: int, text: str, reply: str) -> None:
    assert await chat.send(who, text) == [reply]
    assert await PriceAlert.all().count() == 0


async def test_refusal_in_the_users_language(chat: Chat) -> None:
    await profiles.set_language(PRO, "ru")
    (reply,) = await chat.send(PRO, "/alerts add XAUUSD above 3000")
    assert reply.startswith(
        "3\xa0000,00 отстоит на 25\xa0% от последней цены XAUUSD (2\xa0400,00)"
    )


async def test_a_forged_delete_of_another_users_alert(chat: Chat, world: World) -> None:
    theirs = await service.create(await world.user(ELITE), NewAlert("XAUUSD", "below", "2390"))
    replies = await chat.press(PRO, AlertCB(action="del", alert_id=theirs.id).pack())
    assert replies == [f"Alert #{theirs.id} was not found."]
    assert (await PriceAlert.get(id=theirs.id)).state is AlertState.ACTIVE
    # an id out of range never unpacks: the fallback answers, nothing is queried
    assert await chat.press(PRO, "alr:del:0") == [
        "This button is out of date or not valid. Open the menu again with /menu."
    ]
