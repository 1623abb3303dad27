"""Bot API: getMe, getUpdates long polling and the webhook settings."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import re
from typing import Any

from tgemu.errors import POLL_CONFLICT, WEBHOOK_CONFLICT, ApiError, bad_request
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@method("getMe")
async def get_me(emu: Emulator, p: Params) -> dict[str, Any]:
    return {
        **emu.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut", "close")
async def log_out(emu: Emulator, p: Params) -> bool:
    return True


def _allowed_updates(emu: Emulator, p: Params) -> None:
    allowed = p.obj("allowed_updates")
    if allowed is None:
        return
    if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
        raise bad_request("can't parse allowed_updates JSON object")
    emu.allowed_updates = set(allowed) or None


@method("getUpdates")
async def get_updates(emu: Emulator, p: Params) -> list[dict[str, Any]]:
    if emu.webhook.get("url"):
        raise ApiError(409, WEBHOOK_CONFLICT)
    offset = p.integer("offset")
    limit = min(max(p.integer("limit") or 100, 1), 100)
    timeout = max(p.integer("timeout") or 0, 0)
    _allowed_updates(emu, p)
    if offset is not None:
        emu.confirm_updates(offset)
    emu.poll_generation += 1
    generation = emu.poll_generation

    def ready() -> bool:
        return bool(emu.updates) or emu.poll_generation != generation or bool(emu.webhook)

    await emu.wait_until(ready, timeout)
    if emu.poll_generation != generation:
        raise ApiError(409, POLL_CONFLICT)
    if emu.webhook.get("url"):
        raise ApiError(409, WEBHOOK_CONFLICT)
    batch = emu.updates[:limit]
    fresh = [u for u in batch if u["update_id"] > emu.last_delivered_id]
    if fresh:
        emu.last_delivered_id = fresh[-1]["update_id"]
        emu.stats.updates_delivered += len(fresh)
    return batch


@method("setWebhook")
async def set_webhook(emu: Emulator, p: Params) -> bool:
    url = p.string("url") or ""
    if p.boolean("drop_pending_updates"):
        emu.updates.clear()
    _allowed_updates(emu, p)
    if not url:
        emu.webhook = {}
        emu.notify()
        return True
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.string("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad_request("secret token contains unallowed characters")
    emu.webhook = {
        "url": url,
        "secret_token": secret,
        "max_connections": p.integer("max_connections") or 40,
    }
    emu.notify()
    return True


@method("deleteWebhook")
async def delete_webhook(emu: Emulator, p: Params) -> bool:
    if p.boolean("drop_pending_updates"):
        emu.updates.clear()
    emu.webhook = {}
    emu.notify()
    return True


@method("getWebhookInfo")
async def get_webhook_info(emu: Emulator, p: Params) -> dict[str, Any]:
    hook = emu.webhook
    info: dict[str, Any] = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(emu.updates),
    }
    if hook:
        info["max_connections"] = hook["max_connections"]
        for key in ("last_error_date", "last_error_message"):
            if key in hook:
                info[key] = hook[key]
    if emu.allowed_updates:
        info["allowed_updates"] = sorted(emu.allowed_updates)
    return info
