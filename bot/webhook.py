"""The Telegram webhook route: aiogram's handler, answering with a JSON body.

When a handler returns a Bot API method (instead of awaiting it) and updates are handled in the
request, the method travels back in the webhook response: one HTTP exchange instead of two.
aiogram encodes that response as multipart form data, written part by part; Telegram accepts a
plain JSON object too, which is one small write. Methods that upload files keep multipart.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import JsonPayload
from aiohttp.payload import Payload


class JsonReplyRequestHandler(SimpleRequestHandler):
    def _build_response_writer(self, bot: Bot, result: TelegramMethod[Any] | None) -> Payload:
        if not result:
            return JsonPayload({})
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {"method": result.__api_method__}
        for key, value in result.model_dump(warnings=False).items():
            prepared = bot.session.prepare_value(value, bot=bot, files=files)
            if prepared:
                body[key] = prepared
        if files:  # an upload: only multipart can carry it
            return super()._build_response_writer(bot, result)
        return JsonPayload(body)
