"""What the sender should do about what a Bot API call raised: `ResultClassifier`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import aiohttp
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
from pydantic import ValidationError

NOT_MODIFIED = "message is not modified"


class Verdict(Enum):
    SENT = "sent"  # "message is not modified": the wanted state is already there
    RETRY_AFTER = "retry_after"  # 429: pause all sending, then retry (not a failed attempt)
    UNREACHABLE = "unreachable"  # 403: blocked, kicked, deactivated: skip the chat
    PERMANENT = "permanent"  # 400, a migrated group and friends: record, never retry
    TRANSIENT = "transient"  # network, 5xx, timeouts: retry with backoff


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with what settling it needs: the error text for `last_error`, and for a 429
    the seconds Telegram asked us to wait."""

    verdict: Verdict
    error: str
    retry_after: int = 0


_TRANSIENT = (
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,  # a revoked token is an outage, not this message's fault
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)
# 404/409 answers, or a malformed payload or a missing file: retrying won't help.
_PERMANENT = (
    TelegramAPIError,
    ValueError,
    KeyError,
    TypeError,
    ValidationError,
    FileNotFoundError,
)


class ResultClassifier:
    """Exception -> verdict. Anything unknown is transient: retried with backoff, then given
    up with an ops alert, so a surprise never drops a message silently."""

    def verdict(self, exc: BaseException) -> Verdict:
        if isinstance(exc, TelegramRetryAfter):
            return Verdict.RETRY_AFTER
        if isinstance(exc, TelegramForbiddenError):
            return Verdict.UNREACHABLE
        if isinstance(exc, TelegramBadRequest):
            return Verdict.SENT if NOT_MODIFIED in exc.message else Verdict.PERMANENT
        if isinstance(exc, TelegramEntityTooLarge | TelegramMigrateToChat):
            return Verdict.PERMANENT
        if isinstance(exc, _TRANSIENT):
            return Verdict.TRANSIENT
        if isinstance(exc, _PERMANENT):
            return Verdict.PERMANENT
        return Verdict.TRANSIENT

    def judge(self, exc: BaseException) -> Judgement:
        retry_after = exc.retry_after if isinstance(exc, TelegramRetryAfter) else 0
        return Judgement(self.verdict(exc), describe(exc), retry_after)


def describe(exc: BaseException) -> str:
    """A short error text for `last_error`."""
    text = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    return f"{type(exc).__name__}: {text}"
