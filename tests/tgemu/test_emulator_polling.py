"""aiogram's real Dispatcher polling the emulator: messages, commands, buttons, blocking."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from tests.tgemu.helpers import USER_ID, polling
from tgemu import EmulatorClient


def echo_router() -> Router:
    router = Router(name="echo")

    @router.message(CommandStart(deep_link=True))
    async def start_with_payload(message: Message, command: CommandObject) -> None:
        await message.answer(f"welcome via <code>{command.args}</code>")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Approve", callback_data="sig:approve:42")]
            ]
        )
        await message.answer("<b>New signal</b> XAUUSD", reply_markup=keyboard)

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        await message.answer("help text")

    @router.callback_query(F.data.startswith("sig:approve:"))
    async def approve(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("Signal approved ✅")
        await query.answer("Approved", show_alert=True)

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    return router


@pytest.fixture
def dispatcher() -> Dispatcher:
    dp = Dispatcher()
    dp.include_router(echo_router())
    return dp


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456789, "signaldesk_bot", True)


async def test_polling_round_trip(
    bot: Bot, client: EmulatorClient, dispatcher: Dispatcher
) -> None:
    async with polling(dispatcher, bot):
        sent = await client.send(USER_ID, "hello there")
        reply = await client.wait_for_bot(USER_ID)
    assert sent["entities"] == []
    assert reply["text"] == "echo: hello there"
    assert reply["from_bot"] and reply["message_id"] == sent["message_id"] + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start ref_42", "welcome via <code>ref_42</code>"),
        ("/help@signaldesk_bot", "help text"),
        ("/help@other_bot", "echo: /help@other_bot"),
    ],
)
async def test_commands_reach_aiogram_filters(
    bot: Bot, client: EmulatorClient, dispatcher: Dispatcher, text: str, expected: str
) -> None:
    async with polling(dispatcher, bot):
        sent = await client.send(USER_ID, text)
        reply = await client.wait_for_bot(USER_ID)
    command = text.split()[0]
    assert sent["entities"][0] == {"type": "bot_command", "offset": 0, "length": len(command)}
    assert reply["raw_text"] == expected


async def test_button_press_edits_and_answers(
    bot: Bot, client: EmulatorClient, dispatcher: Dispatcher
) -> None:
    async with polling(dispatcher, bot):
        await client.send(USER_ID, "/start")
        signal = await client.wait_for_bot(USER_ID)
        assert signal["text"] == "New signal XAUUSD"
        assert signal["entities"] == [{"type": "bold", "offset": 0, "length": 10}]
        query_id = await client.press(USER_ID, USER_ID, signal["message_id"], text="Approve")
        edited = await client.wait_for(USER_ID, lambda m: m["edited"])
        answer = await client.callback_answer(query_id)
    assert edited["message_id"] == signal["message_id"]
    assert edited["text"] == "Signal approved ✅"
    assert edited["reply_markup"] is None  # editing without reply_markup drops the keyboard
    assert edited["edits"][0]["text"] == "New signal XAUUSD"
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "Approved", True)


async def test_blocked_user_gets_403_until_they_write_again(
    bot: Bot, client: EmulatorClient, dispatcher: Dispatcher
) -> None:
    await client.block(USER_ID)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "signal")
    async with polling(dispatcher, bot):
        await client.send(USER_ID, "I'm back")  # writing to the bot unblocks it
        reply = await client.wait_for_bot(USER_ID)
    assert reply["text"] == "echo: I'm back"


async def test_never_started_user_cannot_be_messaged(bot: Bot, client: EmulatorClient) -> None:
    await client.add_user(1000009, "Quiet", started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(1000009, "hi")


async def test_group_privacy_mode_hides_plain_text_from_non_admin_bot(
    bot: Bot, client: EmulatorClient, dispatcher: Dispatcher
) -> None:
    group = -1001234
    await client.add_chat(group, "supergroup", "Traders", members=[USER_ID], bot_is_admin=False)
    async with polling(dispatcher, bot):
        chatter = await client.send(USER_ID, "just chatting", chat_id=group)
        await client.send(USER_ID, "/help", chat_id=group)
        reply = await client.wait_for_bot(group)
    assert reply["text"] == "help text"
    assert reply["message_id"] == chatter["message_id"] + 2  # no echo of the plain text
    assert (await client.stats())["updates_queued"] == 1


async def test_updates_the_bot_did_not_ask_for_are_dropped(
    bot: Bot, client: EmulatorClient
) -> None:
    dp = Dispatcher()
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        button = InlineKeyboardButton(text="Go", callback_data="go")
        await message.answer("menu", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))

    dp.include_router(router)
    async with polling(dp, bot):  # allowed_updates = ["message"]: no callback handlers
        await client.send(USER_ID, "/start")
        menu = await client.wait_for_bot(USER_ID)
        await client.press(USER_ID, USER_ID, menu["message_id"], data="go")
    stats = await client.stats()
    assert stats["updates_dropped"] == 1
    assert stats["methods"]["getUpdates"] >= 1
