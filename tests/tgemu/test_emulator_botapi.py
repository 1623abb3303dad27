"""Bot API methods through aiogram's real Bot (and raw HTTP where aiogram would refuse)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    ReplyParameters,
    WebAppInfo,
)

from tests.tgemu.helpers import OTHER_ID, TOKEN, USER_ID, make_bot, png
from tgemu import EmulatorClient, EmulatorServer
from tgemu.errors import NOT_MODIFIED


async def raw_call(server: EmulatorServer, method: str, **params: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.url}/bot{TOKEN}/{method}", data=params) as resp,
    ):
        return resp.status, await resp.json()


def keyboard(data: str = "a:1") -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="Approve", callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def test_wrong_token_is_unauthorized(server: EmulatorServer) -> None:
    stranger = make_bot(server.url, "42:not-the-token")
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()
    await stranger.session.close()


async def test_unknown_method_is_404(server: EmulatorServer) -> None:
    status, body = await raw_call(server, "sendTelepathy", chat_id=USER_ID)
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )


async def test_json_body_and_get_query_are_accepted(
    server: EmulatorServer, client: EmulatorClient
) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{server.url}/bot{TOKEN}/sendMessage"
        async with session.post(url, json={"chat_id": USER_ID, "text": "json"}) as resp:
            sent = await resp.json()
        async with session.get(f"{server.url}/bot{TOKEN}/getMe") as resp:
            me = await resp.json()
    assert sent["ok"] and sent["result"]["chat"] == {
        "id": USER_ID,
        "type": "private",
        "first_name": "Sam",
        "username": "sam_trades",
    }
    assert me["result"]["is_bot"] is True


def other_digits(n: int, zero: str) -> str:
    """`n` written with another script's digits: int() reads them, Telegram does not."""
    return "".join(chr(ord(zero) + int(d)) for d in str(n))


BAD_REQUESTS = [
    ({"text": "x"}, "Bad Request: chat_id is empty"),
    ({"chat_id": other_digits(USER_ID, "\u0660"), "text": "x"}, "Bad Request: chat not found"),
    ({"chat_id": other_digits(USER_ID, "\uff10"), "text": "x"}, "Bad Request: chat not found"),
    ({"chat_id": f"{USER_ID:_}", "text": "x"}, "Bad Request: chat not found"),
    ({"chat_id": f" {USER_ID}", "text": "x"}, "Bad Request: chat not found"),
    (
        {"chat_id": USER_ID, "text": "x", "reply_to_message_id": "\u0661"},
        "Bad Request: invalid reply_to_message_id specified",
    ),
    ({"chat_id": USER_ID}, "Bad Request: message text is empty"),
    ({"chat_id": USER_ID, "text": "   "}, "Bad Request: message text is empty"),
    ({"chat_id": 777, "text": "x"}, "Bad Request: chat not found"),
    ({"chat_id": USER_ID, "text": "x" * 4097}, "Bad Request: message is too long"),
    (
        {"chat_id": USER_ID, "text": "<b>x</i>", "parse_mode": "HTML"},
        'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 4, expected "</b>", '
        'found "</i>"',
    ),
    (
        {"chat_id": USER_ID, "text": "a <div>b</div>", "parse_mode": "HTML"},
        'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 2',
    ),
    (
        {
            "chat_id": USER_ID,
            "text": "x",
            "reply_markup": '{"inline_keyboard": [[{"text": "A"}]]}',
        },
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
        "inline keyboard",
    ),
    (
        {"chat_id": USER_ID, "text": "x", "reply_markup": "{not json"},
        "Bad Request: can't parse reply_markup JSON object",
    ),
    (
        {"chat_id": USER_ID, "text": "x", "reply_to_message_id": 99},
        "Bad Request: message to be replied not found",
    ),
]


@pytest.mark.parametrize(("params", "description"), BAD_REQUESTS)
async def test_send_message_validation(
    server: EmulatorServer, client: EmulatorClient, params: dict[str, Any], description: str
) -> None:
    status, body = await raw_call(server, "sendMessage", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})


@pytest.mark.parametrize("data", ["", "x" * 65, "й" * 33])
async def test_callback_data_must_be_1_to_64_bytes(
    bot: Bot, client: EmulatorClient, data: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "x", reply_markup=keyboard(data))


async def test_caption_limit(bot: Bot, client: EmulatorClient) -> None:
    photo = BufferedInputFile(png(2, 2), "chart.png")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER_ID, photo, caption="c" * 1025)


async def test_html_is_parsed_into_entities(bot: Bot, client: EmulatorClient) -> None:
    message = await bot.send_message(
        USER_ID, '<b>Buy</b> &lt;XAUUSD&gt; <a href="https://x.test/s">chart</a> 🚀 <i>now</i>'
    )
    assert message.text == "Buy <XAUUSD> chart 🚀 now"
    kinds = [(e.type, e.offset, e.length) for e in message.entities or []]
    assert kinds == [("bold", 0, 3), ("text_link", 13, 5), ("italic", 22, 3)]  # 🚀 is 2 units
    stored = await client.last_bot_message(USER_ID)
    assert stored is not None and stored["parse_mode"] == "HTML"
    assert stored["raw_text"].startswith("<b>Buy</b>")


async def test_edit_not_modified_is_a_bad_request(bot: Bot, client: EmulatorClient) -> None:
    sent = await bot.send_message(USER_ID, "<b>Signal</b>", reply_markup=keyboard())
    with pytest.raises(TelegramBadRequest) as info:
        await bot.edit_message_text(
            text="<b>Signal</b>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            reply_markup=keyboard(),
        )
    assert info.value.message == NOT_MODIFIED
    edited = await bot.edit_message_text(
        text="<b>Signal</b>", chat_id=USER_ID, message_id=sent.message_id
    )
    assert not isinstance(edited, bool) and edited.reply_markup is None
    assert edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER_ID, message_id=999)


async def test_edit_reply_markup_and_caption(bot: Bot, client: EmulatorClient) -> None:
    photo = await bot.send_photo(USER_ID, BufferedInputFile(png(3, 2), "c.png"), caption="old")
    await bot.edit_message_caption(chat_id=USER_ID, message_id=photo.message_id, caption="new")
    await bot.edit_message_reply_markup(
        chat_id=USER_ID, message_id=photo.message_id, reply_markup=keyboard("b:2")
    )
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text(text="t", chat_id=USER_ID, message_id=photo.message_id)
    stored = await client.last_bot_message(USER_ID)
    assert stored is not None
    assert stored["caption"] == "new" and len(stored["edits"]) == 2
    assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b:2"


async def test_delete_message(bot: Bot, client: EmulatorClient) -> None:
    sent = await bot.send_message(USER_ID, "temporary")
    assert await bot.delete_message(USER_ID, sent.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)
    events = (await client.events(USER_ID))["events"]
    assert [e["type"] for e in events] == ["message", "deleted"]
    assert await client.last_bot_message(USER_ID) is None


async def test_reply_parameters_nest_the_replied_message(bot: Bot, client: EmulatorClient) -> None:
    question = await client.send(USER_ID, "price?")
    answer = await bot.send_message(
        USER_ID, "2400", reply_parameters=ReplyParameters(message_id=question["message_id"])
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "price?"
    assert answer.reply_to_message.from_user is not None
    assert answer.reply_to_message.from_user.id == USER_ID


async def test_photo_upload_then_reuse_by_file_id(
    bot: Bot, client: EmulatorClient, server: EmulatorServer
) -> None:
    image = png(4, 3)
    first = await bot.send_photo(
        USER_ID, BufferedInputFile(image, "chart.png"), caption="<b>H1</b>"
    )
    assert first.photo is not None and first.caption == "H1"
    size = first.photo[-1]
    assert (size.width, size.height, size.file_size) == (4, 3, len(image))
    again = await bot.send_photo(OTHER_ID, size.file_id)
    assert again.photo is not None and again.photo[-1].file_id == size.file_id
    assert again.photo[-1].file_unique_id == size.file_unique_id
    file = await bot.get_file(size.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image
    assert await client.file(size.file_id) == image
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER_ID, "no-such-file-id")
    stats = await client.stats()
    assert stats["methods"]["sendPhoto"] == 3


async def test_document_upload_and_url(bot: Bot, client: EmulatorClient) -> None:
    sent = await bot.send_document(USER_ID, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("report.csv", "text/csv")
    by_url = await bot.send_document(USER_ID, "https://example.invalid/manual.pdf")
    assert by_url.document is not None and by_url.document.file_name == "manual.pdf"
    stored = await client.last_bot_message(USER_ID)
    assert stored is not None and stored["document"]["file_name"] == "manual.pdf"


async def test_commands_per_scope_and_language(bot: Bot, client: EmulatorClient) -> None:
    default = [BotCommand(command="start", description="Start")]
    private = [BotCommand(command="signals", description="Signals")]
    private_es = [BotCommand(command="signals", description="Señales")]
    owner = [BotCommand(command="admin", description="Admin panel")]
    await bot.set_my_commands(default)
    await bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        private_es, scope=BotCommandScopeAllPrivateChats(), language_code="es"
    )
    await bot.set_my_commands(owner, scope=BotCommandScopeChat(chat_id=USER_ID))
    assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
        ("start", "Start")
    ]
    assert await bot.get_my_commands(language_code="es") == []  # exact scope + language only
    assert [c["command"] for c in await client.commands(USER_ID)] == ["admin"]
    assert [c["description"] for c in await client.commands(OTHER_ID)] == ["Señales"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=USER_ID))
    assert [c["description"] for c in await client.commands(USER_ID)] == ["Signals"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_menu_button_and_descriptions(bot: Bot, client: EmulatorClient) -> None:
    assert (await bot.get_chat_menu_button()).type == "commands"
    app_button = MenuButtonWebApp(text="Open", web_app=WebAppInfo(url="https://app.test/"))
    await bot.set_chat_menu_button(chat_id=USER_ID, menu_button=app_button)
    assert (await bot.get_chat_menu_button(chat_id=USER_ID)).type == "web_app"
    assert (await bot.get_chat_menu_button(chat_id=OTHER_ID)).type == "commands"
    await bot.set_my_description("Signals for gold", language_code="en")
    await bot.set_my_short_description("Gold signals")
    assert (await bot.get_my_description(language_code="en")).description == "Signals for gold"
    assert (await bot.get_my_short_description()).short_description == "Gold signals"


async def test_chat_admin_methods(bot: Bot, client: EmulatorClient) -> None:
    channel = -1009001
    await client.add_chat(channel, "channel", "SignalDesk VIP", username="sd_vip")
    chat = await bot.get_chat("@sd_vip")
    assert (chat.id, chat.type, chat.title) == (channel, "channel", "SignalDesk VIP")
    me = await bot.get_chat_member(channel, 123456789)
    assert me.status == "administrator"
    link = await bot.create_chat_invite_link(channel, name="sam", member_limit=1)
    assert link.invite_link.startswith("https://t.me/+") and link.member_limit == 1
    await client.join(USER_ID, invite_link=link.invite_link)
    assert (await bot.get_chat_member(channel, USER_ID)).status == "member"
    await bot.ban_chat_member(channel, USER_ID)
    assert (await bot.get_chat_member(channel, USER_ID)).status == "kicked"
    await bot.unban_chat_member(channel, USER_ID, only_if_banned=True)
    assert (await bot.get_chat_member(channel, USER_ID)).status == "left"
    with pytest.raises(TelegramBadRequest, match="can't be changed in private chats"):
        await bot.ban_chat_member(USER_ID, OTHER_ID)
    message = await bot.send_message("@sd_vip", "channel post")
    assert message.sender_chat is not None and message.sender_chat.id == channel
    assert await bot.send_chat_action(channel, "typing") is True


async def test_unknown_files(bot: Bot, server: EmulatorServer) -> None:
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/file/bot{TOKEN}/photos/nope.png") as resp,
    ):
        assert resp.status == 404
