"""Checks every message the bot sends or edits goes through: target, markup, reply, limits."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

from typing import Any

from tgemu.errors import BLOCKED, NOT_STARTED, ApiError, bad_request
from tgemu.models import ChatRec
from tgemu.params import Params
from tgemu.state import Emulator

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_MARKUP_INVALID = "can't parse reply keyboard markup JSON object"


def admit(emu: Emulator, chat: ChatRec, *, counted: bool = True) -> None:
    """Refuse sends Telegram would refuse (blocked, never started), then apply rate limits."""
    if chat.type == "private":
        user = emu.users.get(chat.id)
        if chat.id in emu.blocked:
            raise ApiError(403, BLOCKED)
        if user is not None and not user.started:
            raise ApiError(403, NOT_STARTED)
    elif chat.type == "channel" and not chat.bot_is_admin:
        raise bad_request("need administrator rights in the channel chat")
    if counted:
        try:
            emu.limits.acquire(chat.id, chat.is_group)
        except ApiError:
            emu.stats.rate_limited += 1
            raise


def _check_button(button: Any, chat: ChatRec) -> None:
    if not isinstance(button, dict):
        raise bad_request(_MARKUP_INVALID)
    if not isinstance(button.get("text"), str) or not button["text"].strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (
        not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    if "web_app" in button and chat.type != "private":
        raise bad_request("BUTTON_TYPE_INVALID")


def parse_markup(raw: Any, chat: ChatRec) -> dict[str, Any] | None:
    """Validate reply_markup the way Telegram does; returns it as stored in the transcript."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request(_MARKUP_INVALID)
    if "inline_keyboard" in raw:
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(_MARKUP_INVALID)
        for row in rows:
            for button in row:
                _check_button(button, chat)
        return {"inline_keyboard": rows}
    if "keyboard" in raw:
        rows = raw["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(_MARKUP_INVALID)
        return dict(raw)
    if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
        return dict(raw)
    raise bad_request(_MARKUP_INVALID)


def reply_target(emu: Emulator, p: Params, chat: ChatRec) -> int | None:
    """reply_parameters (or the older reply_to_message_id) -> the replied message id."""
    params = p.obj("reply_parameters")
    if params is not None and not isinstance(params, dict):
        raise bad_request("can't parse reply parameters JSON object")
    params = params or {}
    message_id = params.get("message_id", p.integer("reply_to_message_id"))
    if message_id is None:
        return None
    if emu.find_message(chat.id, int(message_id)) is None:
        allow = params.get("allow_sending_without_reply") or p.boolean(
            "allow_sending_without_reply"
        )
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return int(message_id)


def buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]
