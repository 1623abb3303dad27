"""What users do, turned into Bot API updates: messages, button presses, payments (joins and
leaves: `tgemu.members`)."""

from __future__ import annotations

import secrets
from typing import Any

from tgemu import stars
from tgemu.errors import Problem
from tgemu.members import member_update, status
from tgemu.models import ChatRec, InvoiceRec, MessageRec, UserRec
from tgemu.outgoing import buttons
from tgemu.state import Emulator
from tgemu.text import MAX_TEXT, detect_entities, utf16_len

PRE_CHECKOUT_TIMEOUT_S = 10.0


def user_of(emu: Emulator, user_id: int) -> UserRec:
    user = emu.users.get(user_id)
    if user is None:
        raise Problem(
            404, "Unknown user", f"no user {user_id}: create it with POST /_control/users"
        )
    return user


def chat_of(emu: Emulator, chat_id: int) -> ChatRec:
    chat = emu.chats.get(chat_id)
    if chat is None:
        raise Problem(
            404, "Unknown chat", f"no chat {chat_id}: create it with POST /_control/chats"
        )
    return chat


def check_member(chat: ChatRec, user: UserRec) -> None:
    if user.id not in chat.members and user.id not in chat.admins:
        raise Problem(403, "Not a member", f"user {user.id} is not a member of chat {chat.id}")


def bot_sees(emu: Emulator, chat: ChatRec, msg: MessageRec) -> bool:
    """Privacy mode: a non-admin bot sees commands, mentions of it and replies to it only."""
    if chat.type == "private" or chat.bot_is_admin:
        return True
    text = msg.text or ""
    for entity in msg.entities:
        part = text.encode("utf-16-le")[
            entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2
        ]
        word = part.decode("utf-16-le")
        if entity["type"] == "bot_command" or word.lower() == f"@{emu.bot_username.lower()}":
            return True
    replied = emu.find_message(chat.id, msg.reply_to_message_id)
    return replied is not None and replied.from_bot


def send_text(
    emu: Emulator, user: UserRec, chat: ChatRec, text: str, reply_to: int | None
) -> tuple[MessageRec, int | None]:
    if not text.strip():
        raise Problem(422, "Empty text", "'text' must not be empty")
    if utf16_len(text) > MAX_TEXT:
        raise Problem(422, "Text too long", f"'text' is longer than {MAX_TEXT} characters")
    if chat.type == "private":
        if chat.id != user.id:
            raise Problem(403, "Not your chat", "a private chat belongs to its user only")
        user.started = True  # writing to a bot (re)starts it, as "Restart bot" does
        if user.id in emu.blocked:
            set_blocked(emu, user, False)
    else:
        check_member(chat, user)
    if reply_to is not None and emu.find_message(chat.id, reply_to) is None:
        raise Problem(404, "Unknown message", f"no message {reply_to} in chat {chat.id}")
    msg = emu.add_message(
        chat, user.id, text=text, entities=detect_entities(text), reply_to_message_id=reply_to
    )
    if not bot_sees(emu, chat, msg):
        return msg, None
    kind = "channel_post" if chat.type == "channel" else "message"
    return msg, emu.enqueue(kind, emu.message_api(msg))


def _find_button(msg: MessageRec, data: str | None, text: str | None) -> dict[str, Any]:
    for button in buttons(msg.reply_markup):
        if (data is not None and button.get("callback_data") == data) or (
            text is not None and button.get("text") == text
        ):
            return button
    wanted = f"callback_data {data!r}" if data is not None else f"text {text!r}"
    raise Problem(404, "Unknown button", f"message {msg.message_id} has no button with {wanted}")


def press(
    emu: Emulator,
    user: UserRec,
    chat: ChatRec,
    message_id: int,
    data: str | None,
    text: str | None,
) -> tuple[str, int | None]:
    if data is None and text is None:
        raise Problem(422, "Missing field", "give 'callback_data' or 'button_text'")
    if chat.type != "private":
        check_member(chat, user)
    elif chat.id != user.id:
        raise Problem(403, "Not your chat", "a private chat belongs to its user only")
    msg = emu.find_message(chat.id, message_id)
    if msg is None:
        raise Problem(404, "Unknown message", f"no message {message_id} in chat {chat.id}")
    button = _find_button(msg, data, text)
    if "callback_data" not in button:
        kind = next((k for k in button if k != "text"), "unknown")
        raise Problem(409, "Not a callback button", f"the button is a {kind} button: {button}")
    callback = emu.new_callback(
        user_id=user.id, chat_id=chat.id, message_id=message_id, data=button["callback_data"]
    )
    payload = {
        "id": callback.id,
        "from": user.api(),
        "message": emu.message_api(msg),
        "chat_instance": str((chat.id * 2654435761 + emu.bot_id) % 2**62),
        "data": button["callback_data"],
    }
    return callback.id, emu.enqueue("callback_query", payload)


def find_invoice(
    emu: Emulator, user: UserRec, chat_id: int | None, message_id: int | None, link: str | None
) -> tuple[InvoiceRec, ChatRec]:
    if link:
        invoice = emu.invoice_links.get(link.rsplit("$", 1)[-1])
        if invoice is None:
            raise Problem(404, "Unknown invoice link", f"{link} was not created by the bot")
        return invoice, chat_of(emu, user.id)
    if chat_id is None or message_id is None:
        raise Problem(422, "Missing field", "give 'chat_id' and 'message_id', or 'invoice_link'")
    chat = chat_of(emu, chat_id)
    invoice = emu.invoice_for(chat.id, message_id)
    if invoice is None:
        raise Problem(404, "Unknown invoice", f"message {message_id} is not an invoice")
    return invoice, chat


async def pay(
    emu: Emulator, user: UserRec, invoice: InvoiceRec, chat: ChatRec, timeout_s: float
) -> dict[str, Any]:
    """pre_checkout_query -> wait for the bot's answer -> successful_payment message.

    Telegram gives the bot 10 s (`timeout_s` may shorten it, never lengthen it); after that
    the payment fails and a late answerPreCheckoutQuery gets "query is too old"."""
    timeout_s = min(timeout_s, PRE_CHECKOUT_TIMEOUT_S)
    query_id = str(secrets.randbits(62))
    query = {"answered": False, "expired": False, "ok": None, "error_message": None}
    emu.pre_checkouts[query_id] = query
    payload = {
        "id": query_id,
        "from": user.api(),
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "invoice_payload": invoice.payload,
    }
    if emu.enqueue("pre_checkout_query", payload) is None:
        return {
            "ok": False,
            "status": "not_delivered",
            "error_message": "allowed_updates "
            "excludes pre_checkout_query: the bot never sees the payment",
        }
    if not await emu.wait_until(lambda: bool(query["answered"]), timeout_s):
        query["expired"] = True
        return {
            "ok": False,
            "status": "timeout",
            "pre_checkout_query_id": query_id,
            "error_message": f"the bot did not answer the pre-checkout query in {timeout_s:g} s",
        }
    if not query["ok"]:
        return {
            "ok": False,
            "status": "declined",
            "pre_checkout_query_id": query_id,
            "error_message": query["error_message"],
        }
    successful = stars.charge(emu, user, chat, invoice)
    msg = emu.add_message(chat, user.id, successful_payment=successful)
    update_id = emu.enqueue("message", emu.message_api(msg))
    return {
        "ok": True,
        "status": "paid",
        "pre_checkout_query_id": query_id,
        "successful_payment": successful,
        "message": msg.control(emu.files),
        "update_id": update_id,
    }


def set_blocked(emu: Emulator, user: UserRec, blocked: bool) -> None:
    """The user blocks (or unblocks) the bot: sends fail with 403; my_chat_member is queued."""
    chat = chat_of(emu, user.id)
    old = status(emu, chat, emu.bot_id)
    if blocked:
        emu.blocked.add(user.id)
    else:
        emu.blocked.discard(user.id)
    if old != status(emu, chat, emu.bot_id):
        member_update(emu, chat, emu.bot_id, old, actor=user.id)
    emu.notify()
