"""Rate limits (429 + retry_after), injected faults and the blocked-user switch."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)

from tests.tgemu.helpers import OTHER_ID, USER_ID
from tgemu import EmulatorClient
from tgemu.errors import ApiError
from tgemu.limits import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Rates are tiny so that no token comes back while a test runs, however slow the machine:
# retry_after is then exact up to the seconds the test itself took.


async def test_private_chat_limit_gives_retry_after(bot: Bot, client: EmulatorClient) -> None:
    await client.set_limits(per_chat_per_s=0.01, burst=1)  # one token per 100 s
    await bot.send_message(USER_ID, "first")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(USER_ID, "second")
    assert 95 <= info.value.retry_after <= 100
    await bot.send_message(OTHER_ID, "another chat has its own bucket")
    stats = await client.stats()
    assert (stats["rate_limited"], stats["retry_after_given"]) == (1, 1)


async def test_edits_count_against_the_limit(bot: Bot, client: EmulatorClient) -> None:
    await client.set_limits(per_chat_per_s=0.01, burst=2)
    sent = await bot.send_message(USER_ID, "v1")
    await bot.edit_message_text(text="v2", chat_id=USER_ID, message_id=sent.message_id)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.edit_message_text(text="v3", chat_id=USER_ID, message_id=sent.message_id)
    assert 95 <= info.value.retry_after <= 100


async def test_group_limit_is_per_minute(bot: Bot, client: EmulatorClient) -> None:
    await client.add_chat(-100777, "supergroup", "Traders", members=[USER_ID])
    await client.set_limits(per_group_per_min=1)
    await bot.send_message(-100777, "one per minute")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(-100777, "too soon")
    assert 55 <= info.value.retry_after <= 60
    await bot.send_message(USER_ID, "private chats are not affected")


async def test_global_limit_spans_chats(bot: Bot, client: EmulatorClient) -> None:
    await client.set_limits(global_per_s=0.02)  # a bucket of one message, refilled in 50 s
    await bot.send_message(USER_ID, "the only one")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(OTHER_ID, "over the global limit")
    assert 45 <= info.value.retry_after <= 50


async def test_limits_are_off_by_default(bot: Bot, client: EmulatorClient) -> None:
    for n in range(40):
        await bot.send_message(USER_ID, f"burst {n}")
    assert (await client.stats())["rate_limited"] == 0


def test_token_bucket_refills_with_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.configure(enabled=True, per_chat_per_s=1.0, burst=3)
    for _ in range(3):
        limiter.acquire(1, is_group=False)
    with pytest.raises(ApiError) as info:
        limiter.acquire(1, is_group=False)
    assert (info.value.code, info.value.retry_after) == (429, 1)
    clock.now += 1.0
    limiter.acquire(1, is_group=False)  # one token back after a second
    with pytest.raises(ApiError):
        limiter.acquire(1, is_group=False)


@pytest.mark.parametrize(
    ("code", "error", "text"),
    [
        (403, TelegramForbiddenError, "Forbidden: bot was blocked by the user"),
        (400, TelegramBadRequest, "Bad Request: injected fault"),
        (500, TelegramServerError, "Internal Server Error"),
        (429, TelegramRetryAfter, "Too Many Requests: retry after 7"),
    ],
)
async def test_injected_faults(
    bot: Bot, client: EmulatorClient, code: int, error: type[TelegramAPIError], text: str
) -> None:
    await client.inject_fault("sendMessage", code, chat_id=USER_ID, retry_after=7)
    await bot.send_message(OTHER_ID, "other chats are unaffected")
    with pytest.raises(error) as info:
        await bot.send_message(USER_ID, "hit")
    assert text in info.value.message  # aiogram prefixes flood-control messages
    if isinstance(info.value, TelegramRetryAfter):
        assert info.value.retry_after == 7
    await bot.send_message(USER_ID, "times=1: the next call succeeds")
    stats = await client.stats()
    assert stats["faults_injected"] == 1 and stats["errors"] == {str(code): 1}


async def test_persistent_fault_with_custom_description(bot: Bot, client: EmulatorClient) -> None:
    await client.inject_fault("*", 400, times=-1, description="Bad Request: chat is deactivated")
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="chat is deactivated"):
            await bot.get_me()
    await client.clear_faults()
    assert (await bot.get_me()).is_bot


async def test_latency_delays_but_answers(bot: Bot, client: EmulatorClient) -> None:
    await client.set_latency(20, ["getMe"])
    assert (await bot.get_me()).username == "signaldesk_bot"
