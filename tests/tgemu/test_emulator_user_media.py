"""Users send more than text: each kind reaches the bot as a Bot API Message that aiogram's own
types accept (an invalid shape would jam polling), and a photo can be downloaded."""

from __future__ import annotations

import pytest
from aiogram import Bot

from tests.tgemu.helpers import USER_ID
from tgemu import EmulatorClient, EmulatorControlError
from tgemu.user_media import KINDS


async def test_every_kind_arrives_as_a_valid_message(client: EmulatorClient, bot: Bot) -> None:
    for kind in sorted(KINDS):
        sent = await client.send_media(USER_ID, kind)
        assert sent["from"] == USER_ID and not sent["from_bot"]
    updates = await bot.get_updates(timeout=0)  # aiogram validates every Message
    kinds = [u.message.content_type for u in updates if u.message is not None]
    assert sorted(kinds) == sorted(KINDS)


async def test_a_photo_with_a_caption_is_a_stored_file(client: EmulatorClient, bot: Bot) -> None:
    await client.send_media(USER_ID, "photo", caption="/help my chart")
    (update,) = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None and message.caption == "/help my chart" and message.photo
    file = await bot.get_file(message.photo[-1].file_id)
    assert file.file_path
    assert (await client.file(message.photo[-1].file_id)).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("body", "status"),
    [({"kind": "hologram"}, 422), ({"kind": "photo", "caption": "x" * 1025}, 422)],
)
async def test_bad_media_is_a_problem(client: EmulatorClient, body: dict, status: int) -> None:
    with pytest.raises(EmulatorControlError) as info:
        await client.send_media(USER_ID, body["kind"], caption=body.get("caption"))
    assert info.value.status == status
