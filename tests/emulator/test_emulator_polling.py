"""aiogram's real Dispatcher polling the emulator: messages, commands, buttons, blocking."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.emulator import EmulatorClient
from tests.emulator.conftest import USER_ID, polling


def echo_router() -> Router:
    router = Router(name="echo")

    @router.message(CommandStart(deep_link=True))
    async def start_with_payload(message: Message, command: CommandObject) -> None:
        await message.answer(f"welcome via <code>{command.args}</code>")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Approve", callback_data="sig:approve:42")]]
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
