"""Bot API: commands per scope and language, the chat menu button, descriptions and name."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tgemu.errors import bad_request
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator

ScopeKey = tuple[Any, ...]
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE = re.compile(r"^([a-z]{2})?$")
_GLOBAL_SCOPES = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")


def scope_key(emu: Emulator, scope: Any) -> ScopeKey:
    """A BotCommandScope object -> the key its commands are stored under."""
    if scope is None:
        return ("default",)
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind in _GLOBAL_SCOPES:
        return (kind,)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat = emu.chat(scope.get("chat_id"))
        if kind != "chat_member":
            return (kind, chat.id)
        user_id = scope.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("user not found")
        return (kind, chat.id, user_id)
    raise bad_request("BOT_COMMAND_SCOPE_INVALID")


def _language(p: Params) -> str:
    language = p.string("language_code") or ""
    if not _LANGUAGE.match(language):
        raise bad_request("LANG_CODE_INVALID")
    return language


def _commands(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > 100:
        raise bad_request("can't parse commands JSON object")
    commands = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("can't parse commands JSON object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not _COMMAND.match(command.removeprefix("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command.removeprefix("/"), "description": description})
    return commands


@method("setMyCommands")
async def set_my_commands(emu: Emulator, p: Params) -> bool:
    commands = _commands(p.obj("commands"))
    key = (scope_key(emu, p.obj("scope")), _language(p))
    if commands:
        emu.commands[key] = commands
    else:
        emu.commands.pop(key, None)
    emu.notify()
    return True


@method("getMyCommands")
async def get_my_commands(emu: Emulator, p: Params) -> list[dict[str, str]]:
    return emu.commands.get((scope_key(emu, p.obj("scope")), _language(p)), [])


@method("deleteMyCommands")
async def delete_my_commands(emu: Emulator, p: Params) -> bool:
    emu.commands.pop((scope_key(emu, p.obj("scope")), _language(p)), None)
    emu.notify()
    return True


def resolve_commands(
    emu: Emulator, chat_id: int, user_id: int | None, language: str | None
) -> list[dict[str, str]]:
    """The commands a user sees in a chat: Telegram's scope order, own language first."""
    chat = emu.chat(chat_id)
    if chat.type == "private":
        scopes: list[ScopeKey] = [("chat", chat.id), ("all_private_chats",)]
    else:
        is_admin = user_id in chat.admins
        scopes = [("chat_member", chat.id, user_id)]
        scopes += [("chat_administrators", chat.id)] if is_admin else []
        scopes += [("chat", chat.id)]
        scopes += [("all_chat_administrators",)] if is_admin else []
        scopes += [("all_group_chats",)]
    for scope in [*scopes, ("default",)]:
        for lang in dict.fromkeys([language or "", ""]):
            if commands := emu.commands.get((scope, lang)):
                return commands
    return []


def _loopback(url: str) -> bool:
    """An http page on this machine: Telegram's test environment opens such Mini Apps, and so
    does the emulator (loopback only itself); anything else must be https."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _menu_button(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"type": "default"}
    if not isinstance(raw, dict) or raw.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if raw["type"] == "web_app":
        url = (raw.get("web_app") or {}).get("url", "")
        if not raw.get("text") or not (str(url).startswith("https://") or _loopback(str(url))):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(raw)


@method("setChatMenuButton")
async def set_chat_menu_button(emu: Emulator, p: Params) -> bool:
    chat_id = emu.chat(p.chat_id()).id if p.has("chat_id") else None
    emu.menu_buttons[chat_id] = _menu_button(p.obj("menu_button"))
    emu.notify()
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(emu: Emulator, p: Params) -> dict[str, Any]:
    chat_id = emu.chat(p.chat_id()).id if p.has("chat_id") else None
    for key in (chat_id, None):
        button = emu.menu_buttons.get(key)
        if button is not None and button["type"] != "default":
            return button
    return {"type": "commands"}


def _text_setting(emu: Emulator, p: Params, field: str, limit: int) -> bool:
    value = p.string(field) or ""
    if len(value) > limit:
        raise bad_request(f"{field.upper()}_INVALID")
    key = (field, _language(p))
    if value:
        emu.descriptions[key] = value
    else:
        emu.descriptions.pop(key, None)
    emu.notify()
    return True


def _get_setting(emu: Emulator, p: Params, field: str) -> dict[str, str]:
    language = _language(p)
    value = emu.descriptions.get((field, language), emu.descriptions.get((field, ""), ""))
    if field == "name" and not value:
        value = emu.bot_first_name
    return {field: value}


@method("setMyDescription")
async def set_my_description(emu: Emulator, p: Params) -> bool:
    return _text_setting(emu, p, "description", 512)


@method("getMyDescription")
async def get_my_description(emu: Emulator, p: Params) -> dict[str, str]:
    return _get_setting(emu, p, "description")


@method("setMyShortDescription")
async def set_my_short_description(emu: Emulator, p: Params) -> bool:
    return _text_setting(emu, p, "short_description", 120)


@method("getMyShortDescription")
async def get_my_short_description(emu: Emulator, p: Params) -> dict[str, str]:
    return _get_setting(emu, p, "short_description")


@method("setMyName")
async def set_my_name(emu: Emulator, p: Params) -> bool:
    return _text_setting(emu, p, "name", 64)


@method("getMyName")
async def get_my_name(emu: Emulator, p: Params) -> dict[str, str]:
    return _get_setting(emu, p, "name")
