"""Every message the bot receives gets a sensible answer (issue 9, item 7), as users send them
through the emulator: /start per audience, commands in any case or addressed to the bot,
unknown commands, free text, photos, stickers and every other kind of message; in groups the
bot answers only what is addressed to it."""

from __future__ import annotations

from bot.app import AppRunner
from tests.e2e.conftest import ADMIN, OWNER, SUB, VISITOR, say, text
from tgemu import EmulatorClient

GROUP = -100777
KINDS = {  # what each kind is called in the answer (Sam's app is English)
    "photo": "a photo", "sticker": "a sticker", "document": "a document",
    "voice": "a voice message", "video": "a video", "video_note": "a video message",
    "audio": "an audio file", "animation": "a GIF", "location": "a location",
    "venue": "a venue", "contact": "a contact", "poll": "a poll", "dice": "a dice",
    "story": "a story",
}  # fmt: skip
UNKNOWN = "I don't know that command. Send /help to see the ones you can use."


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_visitors_start_says_what_they_get_and_how_to_upgrade(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    """Not "You will receive Fib-RSI trading signals here": visitors get delayed summaries."""
    welcome = await say(tg, VISITOR, "/start")  # Nico's app is Spanish
    body = text(welcome)
    assert "Has entrado como visitante" in body
    assert "un breve resumen de cada señal Fib-RSI 1 día después que los suscriptores" in body
    assert "sin entrada, stop ni take-profit" in body
    assert "Aquí recibes cada señal" not in body
    assert "⭐ Mejora para señales en tiempo real" in buttons(welcome)
    await tg.press(
        VISITOR, VISITOR, welcome["message_id"], text="⭐ Mejora para señales en tiempo real"
    )
    plans = await tg.wait_for_bot(VISITOR, timeout=10)  # the Upgrade button opens /plans
    assert text(plans).startswith("Planes\n\nTienes el plan gratuito")
    assert "Starter: suscribirse (30 días, se renueva)" in buttons(plans)


async def test_a_subscribers_and_an_admins_start(plain_app: AppRunner, tg: EmulatorClient) -> None:
    welcome = await say(tg, SUB, "/start")
    body = text(welcome)
    assert "You are signed in as subscriber." in body
    assert "Every Fib-RSI signal reaches you here in real time" in body and "/devices" in body
    assert not any("Upgrade" in b for b in buttons(welcome))
    assert "/admin" not in body
    staff = text(await say(tg, ADMIN, "/start"))
    assert (
        "Every Fib-RSI signal reaches you here" in staff and "Your admin tools: /admin." in staff
    )


COMMANDS = [
    ("/START", "Welcome to SignalDesk, Sam!"),
    ("/Start", "Welcome to SignalDesk, Sam!"),
    ("/start@signaldesk_bot", "Welcome to SignalDesk, Sam!"),
    ("/START@SignalDesk_Bot", "Welcome to SignalDesk, Sam!"),
    ("/Help", "Commands"),
    ("/HELP@signaldesk_bot", "Commands"),
    ("/Menu", "Main menu."),
    ("/SIGNALS", "No active signals right now."),
    ("/Cancel", "There is nothing to cancel."),
    ("/LANGUAGE", "Choose your language:"),
    ("/nosuch", UNKNOWN),
    ("/start@someotherbot", UNKNOWN),  # not our command, but a private chat: still answered
]


async def test_commands_in_any_case_and_addressed_to_the_bot(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    for typed, starts in COMMANDS:
        assert text(await say(tg, SUB, typed)).startswith(starts), typed


async def test_admin_commands_in_capitals_do_what_they_say(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    await say(tg, VISITOR, "/start")
    assert text(await say(tg, OWNER, "/BAN @nico")) == "@nico is banned."
    assert text(await say(tg, OWNER, "/UnBan @nico")) == "@nico is unbanned."  # not a second ban


async def test_free_text_gets_a_pointer_to_the_commands(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    reply = await say(tg, SUB, "hello, are you there?")
    assert text(reply).startswith("I understand commands, not free text.")
    assert "❓ Help" in buttons(reply), "with the menu"
    assert text(await say(tg, SUB, "help")) == "Did you mean /help? Commands start with a slash."
    assert text(await say(tg, SUB, "Signals")).startswith("Did you mean /signals?")
    # a visitor may not use /signals: no suggestion of a command they cannot run
    assert text(await say(tg, VISITOR, "signals")).startswith("Entiendo comandos")


async def test_every_other_kind_of_message_is_answered(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    for kind, name in KINDS.items():
        await tg.send_media(SUB, kind)
        reply = text(await tg.wait_for_bot(SUB, timeout=10))
        assert reply == (
            f"I cannot do anything with {name}: I understand commands. "
            "Send /help to see what you can do."
        ), kind
    await tg.send_media(VISITOR, "sticker")
    assert text(await tg.wait_for_bot(VISITOR, timeout=10)).startswith(
        "No puedo hacer nada con un sticker"
    )


async def test_a_photo_in_a_dialog_asks_for_the_answer(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    await say(tg, SUB, "/devices")
    listing = await tg.last_bot_message(SUB)
    assert listing is not None
    await tg.press(SUB, SUB, listing["message_id"], text="➕ Add terminal")
    await tg.wait_for(SUB, lambda m: "Send a name for the new terminal" in text(m), timeout=10)
    await tg.send_media(SUB, "photo", caption="my terminal")
    reply = text(await tg.wait_for_bot(SUB, timeout=10))
    assert reply.startswith("I cannot use a photo here: please answer the question above in text")
    named = text(await say(tg, SUB, "Main MT5"))  # the question is still open
    assert named.startswith("✅ Terminal Main MT5 added.")


async def test_in_a_group_only_what_is_addressed_to_the_bot_is_answered(
    plain_app: AppRunner, tg: EmulatorClient
) -> None:
    await tg.add_chat(GROUP, "group", "Traders", members=[SUB], bot_is_admin=True)
    await tg.send(SUB, "hello everyone", chat_id=GROUP)
    await tg.send(SUB, "/start@someotherbot", chat_id=GROUP)
    await tg.send_media(SUB, "sticker", chat_id=GROUP)
    await tg.send(SUB, "/help@signaldesk_bot", chat_id=GROUP)
    answered = await tg.wait_for(GROUP, lambda m: bool(m.get("from_bot")), timeout=10)
    assert text(answered).startswith("Commands")  # the first answer is to /help
    bot_messages = [m for m in await tg.messages(GROUP) if m.get("from_bot")]
    assert len(bot_messages) == 1
