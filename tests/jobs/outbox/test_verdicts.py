"""`ResultClassifier` over the exceptions aiogram really raises: each Bot API error answer goes
through aiogram's own response check, so the classes are the ones a send meets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from jobs.outbox.verdicts import ResultClassifier, Verdict
from tgemu import DEFAULT_TOKEN

SEND = SendMessage(chat_id=42, text="hi")


@pytest.fixture
def bot() -> Bot:
    return Bot(DEFAULT_TOKEN, session=AiohttpSession())  # never opens a connection here


def raised(bot: Bot, status: int, description: str, **parameters: Any) -> Exception:
    """What aiogram raises for this error answer of the Bot API."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    with pytest.raises(Exception) as info:  # which class is under test
        bot.session.check_response(bot, SEND, status, json.dumps(body))
    assert isinstance(info.value, Exception)
    return info.value


@pytest.mark.parametrize(
    ("status", "description", "parameters", "verdict"),
    [
        (429, "Too Many Requests: retry after 7", {"retry_after": 7}, Verdict.RETRY_AFTER),
        (403, "Forbidden: bot was blocked by the user", {}, Verdict.UNREACHABLE),
        (403, "Forbidden: user is deactivated", {}, Verdict.UNREACHABLE),
        (403, "Forbidden: bot was kicked from the group chat", {}, Verdict.UNREACHABLE),
        (
            400,
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same",
            {},
            Verdict.SENT,
        ),
        (400, "Bad Request: can't parse entities", {}, Verdict.PERMANENT),
        (400, "Bad Request: message to edit not found", {}, Verdict.PERMANENT),
        (
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": -1001234},
            Verdict.PERMANENT,
        ),
        (404, "Not Found", {}, Verdict.PERMANENT),
        (409, "Conflict: terminated by other getUpdates request", {}, Verdict.PERMANENT),
        (413, "Request Entity Too Large", {}, Verdict.PERMANENT),
        (401, "Unauthorized", {}, Verdict.TRANSIENT),  # a revoked token: an outage
        (500, "Internal Server Error", {}, Verdict.TRANSIENT),
        (502, "Bad Gateway", {}, Verdict.TRANSIENT),
        (500, "Internal Server Error: restart", {}, Verdict.TRANSIENT),
    ],
)
def test_bot_api_error_answers(
    bot: Bot, status: int, description: str, parameters: dict[str, Any], verdict: Verdict
) -> None:
    exc = raised(bot, status, description, **parameters)
    judged = ResultClassifier().judge(exc)
    assert judged.verdict is verdict
    assert judged.error.startswith(f"{type(exc).__name__}: ")  # for last_error
    assert description in judged.error


def test_a_429_carries_its_retry_after(bot: Bot) -> None:
    exc = raised(bot, 429, "Too Many Requests: retry after 7", retry_after=7)
    assert isinstance(exc, TelegramRetryAfter)
    assert ResultClassifier().judge(exc).retry_after == 7


def test_a_migrated_group_is_not_retried(bot: Bot) -> None:
    exc = raised(bot, 400, "Bad Request: upgraded", migrate_to_chat_id=-1001234)
    assert isinstance(exc, TelegramMigrateToChat)
    judged = ResultClassifier().judge(exc)
    assert (judged.verdict, judged.retry_after) == (Verdict.PERMANENT, 0)


def _validation_error() -> Exception:
    try:
        InlineKeyboardMarkup.model_validate({"inline_keyboard": "not rows"})
    except Exception as exc:  # pydantic's ValidationError
        return exc
    msg = "the markup validated"
    raise AssertionError(msg)


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (TelegramNetworkError(SEND, "HTTP Client says - ClientConnectorError"), Verdict.TRANSIENT),
        (TelegramServerError(SEND, "Bad Gateway"), Verdict.TRANSIENT),
        (aiohttp.ClientConnectionError("reset"), Verdict.TRANSIENT),
        (aiohttp.ServerDisconnectedError(), Verdict.TRANSIENT),
        (TimeoutError(), Verdict.TRANSIENT),
        (ConnectionResetError("peer"), Verdict.TRANSIENT),
        (RuntimeError("anything unforeseen"), Verdict.TRANSIENT),  # retried, then alerted
        (ValueError("edit_text needs the target message id"), Verdict.PERMANENT),
        (KeyError("text"), Verdict.PERMANENT),
        (TypeError("bad payload"), Verdict.PERMANENT),
        (FileNotFoundError(str(Path("/nowhere/chart.png"))), Verdict.PERMANENT),
        (_validation_error(), Verdict.PERMANENT),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.name,
)
def test_what_a_call_raises_besides_error_answers(exc: Exception, verdict: Verdict) -> None:
    assert ResultClassifier().verdict(exc) is verdict
