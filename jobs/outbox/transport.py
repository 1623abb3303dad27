"""How the outbox talks to Telegram: payload -> Bot API call, error verdicts, and pacing.

`deliver` maps one outbox payload (see `services.outbox.notifications`) onto aiogram's `Bot`.
`classify` turns what a call raised into what the sender should do about it.
`TokenBucket` and `ChatLimiter` keep the sender under Telegram's limits: about 30 messages/s
overall, 1 message/s per chat and 20 messages/min per group or channel (negative chat ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import FSInputFile, InlineKeyboardMarkup, InputFile, Message, ReplyParameters
from pydantic import ValidationError

NOT_MODIFIED = "message is not modified"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What Telegram answered: the message id, and the stored photo's file_id for uploads."""

    message_id: int | None
    photo_file_id: str | None = None


def _markup(payload: Mapping[str, Any]) -> InlineKeyboardMarkup | None:
    raw = payload.get("reply_markup")
    return InlineKeyboardMarkup.model_validate(raw) if raw else None


def _from_message(answer: Message | bool, fallback: int | None) -> Delivered:
    if not isinstance(answer, Message):
        return Delivered(fallback)
    file_id = answer.photo[-1].file_id if answer.photo else None
    return Delivered(answer.message_id, file_id)


def photo_input(source: Mapping[str, Any]) -> InputFile | str:
    """A payload's `photo` without a chart: a file_id as is, a path as an upload."""
    if source.get("file_id"):
        return str(source["file_id"])
    return FSInputFile(Path(str(source["path"])))


async def deliver(
    bot: Bot,
    chat_id: int,
    payload: Mapping[str, Any],
    *,
    reply_to: int | None = None,
    target: int | None = None,
    photo: InputFile | str | None = None,
) -> Delivered:
    """Perform one payload: `reply_to`/`target` are resolved message ids, `photo` the file."""
    method = payload["method"]
    parse_mode = payload.get("parse_mode")
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to
        else None
    )
    if method == "send_message":
        answer: Message | bool = await bot.send_message(
            chat_id,
            payload["text"],
            parse_mode=parse_mode,
            reply_markup=_markup(payload),
            reply_parameters=reply,
        )
    elif method == "send_photo":
        answer = await bot.send_photo(
            chat_id,
            photo if photo is not None else photo_input(payload["photo"]),
            caption=payload.get("caption"),
            parse_mode=parse_mode,
            reply_markup=_markup(payload),
            reply_parameters=reply,
        )
    else:
        answer = await _change(bot, chat_id, target, payload)
    return _from_message(answer, target)


async def _change(
    bot: Bot, chat_id: int, target: int | None, payload: Mapping[str, Any]
) -> Message | bool:
    if target is None:
        msg = f"{payload['method']} needs the target message id"
        raise ValueError(msg)
    method, markup, parse_mode = payload["method"], _markup(payload), payload.get("parse_mode")
    if method == "edit_text":
        return await bot.edit_message_text(
            text=payload["text"],
            chat_id=chat_id,
            message_id=target,
            parse_mode=parse_mode,
            reply_markup=markup,
        )
    if method == "edit_caption":
        return await bot.edit_message_caption(
            chat_id=chat_id,
            message_id=target,
            caption=payload.get("caption"),
            parse_mode=parse_mode,
            reply_markup=markup,
        )
    if method == "edit_markup":
        return await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=target, reply_markup=markup
        )
    if method == "delete":
        return await bot.delete_message(chat_id, target)
    msg = f"unknown payload method {method!r}"
    raise ValueError(msg)


class Verdict(Enum):
    SENT = "sent"  # "message is not modified": the wanted state is already there
    RETRY_AFTER = "retry_after"  # 429: pause all sending, then retry (not a failed attempt)
    UNREACHABLE = "unreachable"  # 403: blocked, kicked, deactivated: skip the chat
    PERMANENT = "permanent"  # 400 and friends: record, never retry
    TRANSIENT = "transient"  # network, 5xx, timeouts: retry with backoff


def classify(exc: BaseException) -> Verdict:
    """What the sender should do about an exception raised while delivering."""
    if isinstance(exc, TelegramRetryAfter):
        return Verdict.RETRY_AFTER
    if isinstance(exc, TelegramForbiddenError):
        return Verdict.UNREACHABLE
    if isinstance(exc, TelegramBadRequest):
        return Verdict.SENT if NOT_MODIFIED in exc.message else Verdict.PERMANENT
    if isinstance(exc, TelegramEntityTooLarge | TelegramMigrateToChat):
        return Verdict.PERMANENT
    transient = (
        TelegramNetworkError,
        TelegramServerError,
        TelegramUnauthorizedError,  # a revoked token is an outage, not this message's fault
        aiohttp.ClientError,
        TimeoutError,
        ConnectionError,
    )
    if isinstance(exc, transient):
        return Verdict.TRANSIENT
    if isinstance(exc, TelegramAPIError | ValueError | KeyError | TypeError | ValidationError):
        return Verdict.PERMANENT  # 404/409 answers, or a malformed payload: retrying won't help
    if isinstance(exc, FileNotFoundError):
        return Verdict.PERMANENT
    return Verdict.TRANSIENT


def describe(exc: BaseException) -> str:
    """A short error text for `last_error`."""
    text = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    return f"{type(exc).__name__}: {text}"


# -- pacing -------------------------------------------------------------------------------------
class TokenBucket:
    """A token bucket handing out reservations that count until released.

    `reserve()` takes a token now or later (tokens may go negative: reservations then leave
    exactly 1/rate apart). A reservation also holds a unit of capacity until `release()`, i.e.
    until Telegram has answered, so the bucket never refills behind the back of requests still
    on their way: however late they arrive, a server bucket with the same rate and at least
    our capacity has a token for each of them.
    """

    def __init__(
        self, rate_per_s: float, capacity: float, now: float, tokens: float | None = None
    ) -> None:
        if rate_per_s <= 0 or capacity < 1:
            msg = f"need rate_per_s > 0 and capacity >= 1, got {rate_per_s}, {capacity}"
            raise ValueError(msg)
        self.rate_per_s = rate_per_s
        self.capacity = float(capacity)
        self.tokens = float(capacity if tokens is None else tokens)  # default: full
        self.stamp = now
        self.outstanding = 0  # reservations not released yet

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            limit = self.capacity - self.outstanding
            self.tokens = min(limit, self.tokens + (now - self.stamp) * self.rate_per_s)
            self.stamp = now

    def tokens_at(self, when: float) -> float:
        """Tokens at `when` if nothing more is reserved (negative: reservations queued)."""
        if when < self.stamp:
            return min(self.tokens, 0.0)
        limit = self.capacity - self.outstanding
        return min(limit, self.tokens + (when - self.stamp) * self.rate_per_s)

    def wait_s(self, now: float) -> float:
        """Seconds until a token is free (0: now)."""
        self._refill(now)
        lag = max(0.0, self.stamp - now)
        return lag + max(0.0, (1.0 - self.tokens) / self.rate_per_s)

    def reserve(self, now: float) -> float:
        """Take a token and hold capacity until `release()`; returns the wait before using it."""
        wait = self.wait_s(now)
        self.tokens -= 1.0
        self.outstanding += 1
        return wait

    def release(self, now: float) -> None:
        """The reserved request was answered (or given up): its capacity may refill from now."""
        self._refill(now)  # what accrued until now was capped with it still outstanding
        self.outstanding = max(0, self.outstanding - 1)

    def has_room(self) -> bool:
        """False while every unit of capacity is held by an unanswered request."""
        return self.capacity - self.outstanding >= 1

    def take(self, now: float) -> None:
        """Consume a token at once, without holding capacity (may go negative)."""
        self._refill(now)
        self.tokens -= 1.0

    def drain(self, until: float) -> None:
        """Empty the bucket until `until` (a 429 pause)."""
        self.tokens = 0.0
        self.stamp = max(self.stamp, until)

    def full(self, now: float) -> bool:
        """True when the bucket is back at capacity (nothing to remember about it)."""
        self._refill(now)
        return self.tokens >= self.capacity


@dataclass(frozen=True, slots=True)
class SenderLimits:
    """Telegram's limits as token buckets (rates and bursts); tests and benchmarks scale them."""

    global_per_s: float = 30.0
    global_burst: float = 20.0
    per_chat_per_s: float = 1.0
    per_chat_burst: float = 1.0
    per_group_per_min: float = 20.0
    group_burst: float = 10.0


class ChatLimiter:
    """Per-chat buckets: 1/s for every chat, and 20/min on top for groups and channels.

    A chat's token is taken when Telegram answers (the sender has one request per chat in
    flight), so consecutive messages reach Telegram at least 1/rate apart whatever the latency.
    """

    def __init__(self, limits: SenderLimits) -> None:
        self.limits = limits
        self._chats: dict[int, tuple[TokenBucket, ...]] = {}

    def _buckets(self, chat_id: int, now: float) -> tuple[TokenBucket, ...]:
        buckets = self._chats.get(chat_id)
        if buckets is None:
            lim = self.limits
            buckets = (TokenBucket(lim.per_chat_per_s, lim.per_chat_burst, now),)
            if chat_id < 0:
                buckets += (TokenBucket(lim.per_group_per_min / 60.0, lim.group_burst, now),)
            self._chats[chat_id] = buckets
        return buckets

    def wait_s(self, chat_id: int, now: float) -> float:
        """Seconds until the chat may be sent to."""
        buckets = self._chats.get(chat_id, ())
        return max((b.wait_s(now) for b in buckets), default=0.0)

    def take(self, chat_id: int, now: float) -> None:
        """Telegram answered a request to this chat."""
        for bucket in self._buckets(chat_id, now):
            bucket.take(now)

    def cooling(self, now: float) -> dict[int, float]:
        """Chats that cannot send yet -> seconds to wait; forgets chats whose buckets are full."""
        waits: dict[int, float] = {}
        for chat_id in list(self._chats):
            wait = self.wait_s(chat_id, now)
            if wait > 0:
                waits[chat_id] = wait
            elif all(b.full(now) for b in self._chats[chat_id]):
                del self._chats[chat_id]
        return waits
