"""Bot API: sending, editing and deleting messages, media, chat actions, callback answers."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

from typing import Any

from tgemu.errors import NOT_MODIFIED, QUERY_INVALID, ApiError, bad_request
from tgemu.media import resolve_file
from tgemu.models import BOT, ChatRec, MessageRec
from tgemu.outgoing import admit, parse_markup, reply_target
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator
from tgemu.text import MAX_CAPTION, prepare_text

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def _text_fields(p: Params) -> dict[str, Any]:
    source = p.string("text", required=True, empty="message text is empty")
    parse_mode = p.string("parse_mode")
    text, entities = prepare_text(source, parse_mode, p.obj("entities"))
    return {"text": text, "entities": entities, "parse_mode": parse_mode, "raw_text": source}


def _caption_fields(p: Params) -> dict[str, Any]:
    source = p.string("caption")
    if source is None:
        return {"caption": None, "caption_entities": []}
    parse_mode = p.string("parse_mode")
    caption, entities = prepare_text(
        source, parse_mode, p.obj("caption_entities"), limit=MAX_CAPTION, what="caption"
    )
    return {
        "caption": caption or None,
        "caption_entities": entities,
        "parse_mode": parse_mode,
        "raw_text": source,
    }


@method("sendMessage")
async def send_message(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    fields = _text_fields(p)
    markup = parse_markup(p.obj("reply_markup"), chat)
    reply_to = reply_target(emu, p, chat)
    admit(emu, chat)
    msg = emu.add_message(
        chat, BOT, reply_markup=markup, reply_to_message_id=reply_to,
        disable_notification=p.boolean("disable_notification"), **fields,
    )  # fmt: skip
    return emu.message_api(msg)


async def _send_media(emu: Emulator, p: Params, kind: str) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    fields = _caption_fields(p)
    markup = parse_markup(p.obj("reply_markup"), chat)
    reply_to = reply_target(emu, p, chat)
    file = resolve_file(emu, kind, p.file(kind))
    admit(emu, chat)
    msg = emu.add_message(
        chat,
        BOT,
        reply_markup=markup,
        reply_to_message_id=reply_to,
        disable_notification=p.boolean("disable_notification"),
        **{kind: file.file_id},
        **fields,
    )
    return emu.message_api(msg)


@method("sendPhoto")
async def send_photo(emu: Emulator, p: Params) -> dict[str, Any]:
    return await _send_media(emu, p, "photo")


@method("sendDocument")
async def send_document(emu: Emulator, p: Params) -> dict[str, Any]:
    return await _send_media(emu, p, "document")


def _editable(emu: Emulator, p: Params) -> tuple[ChatRec, MessageRec]:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = emu.chat(p.chat_id())
    message_id = p.integer("message_id", required=True)
    msg = emu.find_message(chat.id, message_id)
    if msg is None:
        raise bad_request("message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return chat, msg


def _apply_edit(emu: Emulator, chat: ChatRec, msg: MessageRec, changes: dict[str, Any]) -> Any:
    visible = ("text", "entities", "caption", "caption_entities", "reply_markup")
    if all(getattr(msg, key) == changes[key] for key in visible if key in changes):
        raise ApiError(400, NOT_MODIFIED)
    admit(emu, chat)
    emu.edit_message(msg, **changes)
    return emu.message_api(msg)


def _edited_markup(p: Params, chat: ChatRec, msg: MessageRec) -> dict[str, Any] | None:
    markup = parse_markup(p.obj("reply_markup"), chat)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("REPLY_MARKUP_INVALID")
    # Omitting reply_markup removes an inline keyboard, as in Telegram.
    if markup is None and msg.reply_markup and "inline_keyboard" not in msg.reply_markup:
        return msg.reply_markup
    return markup


@method("editMessageText")
async def edit_message_text(emu: Emulator, p: Params) -> Any:
    chat, msg = _editable(emu, p)
    fields = _text_fields(p)
    if msg.text is None:
        raise bad_request("there is no text in the message to edit")
    return _apply_edit(emu, chat, msg, {**fields, "reply_markup": _edited_markup(p, chat, msg)})


@method("editMessageCaption")
async def edit_message_caption(emu: Emulator, p: Params) -> Any:
    chat, msg = _editable(emu, p)
    fields = _caption_fields(p)
    if msg.photo is None and msg.document is None:
        raise bad_request("there is no caption in the message to edit")
    return _apply_edit(emu, chat, msg, {**fields, "reply_markup": _edited_markup(p, chat, msg)})


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: Emulator, p: Params) -> Any:
    chat, msg = _editable(emu, p)
    return _apply_edit(emu, chat, msg, {"reply_markup": _edited_markup(p, chat, msg)})


@method("deleteMessage")
async def delete_message(emu: Emulator, p: Params) -> bool:
    chat = emu.chat(p.chat_id())
    msg = emu.find_message(chat.id, p.integer("message_id", required=True))
    if msg is None:
        raise bad_request("message to delete not found")
    emu.delete_message(msg)
    return True


@method("deleteMessages")
async def delete_messages(emu: Emulator, p: Params) -> bool:
    chat = emu.chat(p.chat_id())
    ids = p.obj("message_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise bad_request("message_ids is empty")
    for message_id in ids:
        if (msg := emu.find_message(chat.id, message_id)) is not None:
            emu.delete_message(msg)
    return True


@method("sendChatAction")
async def send_chat_action(emu: Emulator, p: Params) -> bool:
    chat = emu.chat(p.chat_id())
    action = p.string("action", required=True)
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    admit(emu, chat, counted=False)
    emu.add_event(chat.id, "chat_action", action=action)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(emu: Emulator, p: Params) -> bool:
    query_id = p.string("callback_query_id", required=True)
    callback = emu.callbacks.get(query_id or "")
    if callback is None or callback.answered:
        raise bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
    text = p.string("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    callback.answered = True
    callback.text = text
    callback.show_alert = p.boolean("show_alert")
    callback.url = p.string("url")
    callback.cache_time = p.integer("cache_time") or 0
    emu.add_event(callback.chat_id, "callback_answered", callback=callback.control())
    return True


@method("getFile")
async def get_file(emu: Emulator, p: Params) -> dict[str, Any]:
    file = emu.files.get(p.string("file_id", required=True) or "")
    if file is None:
        raise bad_request("invalid file_id")
    return file.api_file()
