"""The Telegram webhook route: aiogram's handler, validating its input and answering JSON.

Every answer is either what Telegram expects (an empty object, or a Bot API method in reply
mode) or an RFC 7807 problem document: a wrong secret is 401, a body that is not JSON or not an
`Update` is 400, never a 500. Telegram retries non-2xx answers for a while; a 4xx still tells
whoever sent a malformed update what was wrong without an error trace in our logs.

When a handler returns a Bot API method (instead of awaiting it) and updates are handled in the
request, the method travels back in the webhook response: one HTTP exchange instead of two.
aiogram encodes that response as multipart form data, written part by part; Telegram accepts a
plain JSON object too, which is one small write. Methods that upload files keep multipart.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import JsonPayload, web
from aiohttp.payload import Payload
from pydantic import ValidationError

from core.http.problems import ProblemError

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class JsonReplyRequestHandler(SimpleRequestHandler):
    """`SimpleRequestHandler` that validates its input and answers JSON. The updates it hands
    to background tasks are kept in `background_tasks` (ours, not aiogram's private set), so
    the runner can wait for them at shutdown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background_tasks: set[asyncio.Task[None]] = set()

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        # compare_digest refuses non-ASCII str; aiohttp hands header values over decoded as
        # UTF-8 with surrogateescape, so this round-trips whatever bytes arrived.
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return secrets.compare_digest(given, self.secret_token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            raise ProblemError(401, "Unauthorized", f"missing or wrong {SECRET_HEADER} header")
        update = await self._parse_update(bot, request)
        if self.handle_in_background:
            task = asyncio.create_task(self._feed_in_background(bot, update))
            self.background_tasks.add(task)
            task.add_done_callback(self.background_tasks.discard)
            return web.json_response({}, dumps=bot.session.json_dumps)
        result = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    __call__ = handle

    @staticmethod
    async def _parse_update(bot: Bot, request: web.Request) -> Update:
        body = await request.read()
        try:
            data = bot.session.json_loads(body.decode("utf-8"))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise ProblemError(400, "Bad Request", "the body is not UTF-8 JSON") from None
        except RecursionError:  # nested deeper than the parser's stack: not a ValueError
            raise ProblemError(400, "Bad Request", "the body is nested too deeply") from None
        try:
            return Update.model_validate(data, context={"bot": bot})
        except RecursionError:
            raise ProblemError(400, "Bad Request", "the body is nested too deeply") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            detail = f"not a Telegram Update: {where}: {first['msg']}"
            raise ProblemError(400, "Bad Request", detail) from None

    async def _feed_in_background(self, bot: Bot, update: Update) -> None:
        try:
            result = await self.dispatcher.feed_update(bot, update, **self.data)
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(bot=bot, result=result)
        except Exception:
            log.exception("webhook update failed", extra={"update_id": update.update_id})

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
