"""What else a user can send besides text: photos, stickers, documents, voice messages,
locations, contacts, polls... as Bot API Message fields (`POST /_control/send_media`).

Photos and documents are stored files (the bot may download them with getFile); the other
kinds carry the fields a client sends, with made-up file ids.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from tgemu.actions import bot_sees, check_member, set_blocked
from tgemu.errors import Problem
from tgemu.models import ChatRec, MessageRec, UserRec
from tgemu.state import Emulator
from tgemu.text import MAX_CAPTION, detect_entities, utf16_len


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


PNG = _png_1x1()


def _file(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"file_id": emu.new_id("CAAC"), "file_unique_id": emu.new_id("AgAD")[:16], **extra}


def _attachment(emu: Emulator, kind: str, chat: ChatRec) -> dict[str, Any]:  # noqa: C901
    if kind == "sticker":
        return _file(emu, type="regular", width=512, height=512, is_animated=False,
                     is_video=False, emoji="👍")  # fmt: skip
    if kind == "voice":
        return _file(emu, duration=3, mime_type="audio/ogg")
    if kind in ("video", "animation"):
        return _file(emu, width=320, height=240, duration=3)
    if kind == "video_note":
        return _file(emu, length=240, duration=3)
    if kind == "audio":
        return _file(emu, duration=180, title="Song")
    if kind == "location":
        return {"latitude": 51.5074, "longitude": -0.1278}
    if kind == "venue":
        return {"location": {"latitude": 51.5074, "longitude": -0.1278},
                "title": "Trafalgar Square", "address": "London WC2N 5DN"}  # fmt: skip
    if kind == "contact":
        return {"phone_number": "+441234567890", "first_name": "Ann"}
    if kind == "poll":
        options = [{"persistent_id": str(i), "text": t, "voter_count": 0}
                   for i, t in enumerate(("Buy", "Sell"))]  # fmt: skip
        return {"id": emu.new_id("poll"), "question": "Buy or sell?", "options": options,
                "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
                "type": "regular", "allows_multiple_answers": False,
                "allows_revoting": False, "members_only": False}  # fmt: skip
    if kind == "dice":
        return {"emoji": "🎲", "value": 4}
    if kind == "story":
        return {"chat": chat.api(), "id": 1}
    raise Problem(422, "Unknown kind", f"'kind' {kind!r} is not one of {sorted(KINDS)}")


KINDS = frozenset({
    "photo", "document", "sticker", "voice", "video", "animation", "video_note", "audio",
    "location", "venue", "contact", "poll", "dice", "story",
})  # fmt: skip


def send_media(
    emu: Emulator, user: UserRec, chat: ChatRec, kind: str, caption: str | None
) -> tuple[MessageRec, int | None]:
    """The user sends a message of `kind` (with `caption` where Telegram allows one)."""
    if kind not in KINDS:
        raise Problem(422, "Unknown kind", f"'kind' {kind!r} is not one of {sorted(KINDS)}")
    if caption is not None and utf16_len(caption) > MAX_CAPTION:
        raise Problem(422, "Caption too long", f"'caption' is longer than {MAX_CAPTION}")
    if chat.type == "private":
        if chat.id != user.id:
            raise Problem(403, "Not your chat", "a private chat belongs to its user only")
        user.started = True
        if user.id in emu.blocked:
            set_blocked(emu, user, False)
    else:
        check_member(chat, user)
    fields: dict[str, Any] = {}
    if caption:
        fields.update(caption=caption, caption_entities=detect_entities(caption))
    if kind == "photo":
        fields["photo"] = emu.store_file("photo", data=PNG, mime_type="image/png",
                                         file_name="photo.png", width=1, height=1).file_id  # fmt: skip
    elif kind == "document":
        fields["document"] = emu.store_file("document", data=b"%PDF-1.4\n", file_name="report.pdf",
                                            mime_type="application/pdf").file_id  # fmt: skip
    else:
        fields["attachment"] = {kind: _attachment(emu, kind, chat)}
    msg = emu.add_message(chat, user.id, **fields)
    if not bot_sees(emu, chat, msg):
        return msg, None
    update_kind = "channel_post" if chat.type == "channel" else "message"
    return msg, emu.enqueue(update_kind, emu.message_api(msg))
