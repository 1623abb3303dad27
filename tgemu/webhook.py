"""Webhook delivery: POST each pending update to the bot's URL, in order, retrying with backoff.

One task per emulator app delivers one update at a time (Telegram's order guarantee). A 2xx
answer confirms the update; if its body is a Bot API call (aiogram's SimpleRequestHandler with
handle_in_background=False answers with a multipart form naming `method`), that call is executed
as Telegram does. Any other answer is recorded in getWebhookInfo (last_error_date/message) and in
`Emulator.webhook_log`, and the same update is retried after an exponential backoff that a new
setWebhook cuts short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from tgemu.botapi import call_method
from tgemu.errors import ApiError
from tgemu.params import Upload
from tgemu.state import Emulator

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _response_call(resp: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]] | None:
    """The Bot API call carried in a webhook answer, if any."""
    values: dict[str, Any] = {}
    if resp.content_type == "application/json":
        body = await resp.json()
        if isinstance(body, dict):
            values = body
    elif resp.content_type.startswith("multipart/"):
        reader = aiohttp.MultipartReader(resp.headers, resp.content)
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                continue
            data = await part.read()
            if part.filename:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                values[part.name] = Upload(bytes(data), part.filename, content_type)
            else:
                values[part.name] = data.decode()
    name = values.pop("method", None)
    return (name, values) if isinstance(name, str) and name else None


class WebhookDeliverer:
    def __init__(
        self, emu: Emulator, *, backoff_s: tuple[float, float] = (0.05, 2.0), timeout_s: float = 10
    ) -> None:
        self.emu = emu
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s

    def _ready(self) -> bool:
        return bool(self.emu.webhook.get("url") and self.emu.updates)

    async def run(self) -> None:
        emu = self.emu
        delay = self.backoff_s[0]
        async with aiohttp.ClientSession() as session:
            while not emu.closing:
                if not await emu.wait_until(self._ready, 3600):
                    continue
                config = emu.webhook
                update = emu.updates[0]
                if await self._deliver(session, config, update):
                    emu.updates = [u for u in emu.updates if u is not update]
                    emu.stats.updates_delivered += 1
                    emu.notify()
                    delay = self.backoff_s[0]
                    continue
                await emu.wait_until(self._changed_from(config), delay)
                delay = min(delay * 2, self.backoff_s[1])

    def _changed_from(self, config: dict[str, Any]) -> Callable[[], bool]:
        return lambda: self.emu.webhook is not config

    async def _deliver(
        self, session: aiohttp.ClientSession, config: dict[str, Any], update: dict[str, Any]
    ) -> bool:
        emu = self.emu
        headers = {SECRET_HEADER: config["secret_token"]} if config.get("secret_token") else {}
        emu.stats.webhook_attempts += 1
        error = ""
        call = None
        try:
            async with session.post(
                config["url"],
                json=update,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            ) as resp:
                if 200 <= resp.status < 300:
                    call = await self._safe_response_call(resp)
                else:
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self._log(config, update, error)
        if error:
            return False
        if call is not None:
            with contextlib.suppress(ApiError):
                await call_method(emu, *call)
        return True

    async def _safe_response_call(
        self, resp: aiohttp.ClientResponse
    ) -> tuple[str, dict[str, Any]] | None:
        try:
            return await _response_call(resp)
        except (ValueError, aiohttp.ClientError):
            logger.warning("unreadable webhook answer ignored", exc_info=True)
            return None

    def _log(self, config: dict[str, Any], update: dict[str, Any], error: str) -> None:
        emu = self.emu
        entry = {"update_id": update["update_id"], "date": emu.now(), "ok": not error}
        if error:
            entry["error"] = error
            emu.stats.webhook_failures += 1
            config["last_error_date"] = entry["date"]
            config["last_error_message"] = error
        emu.webhook_log.append(entry)
        emu.notify()


@contextlib.asynccontextmanager
async def running(deliverer: WebhookDeliverer) -> Any:
    """Run the delivery task for the lifetime of the block; cancel it on exit."""
    task = asyncio.create_task(deliverer.run(), name="emulator-webhook-delivery")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
