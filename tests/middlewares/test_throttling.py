import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from middlewares.throttling import TokenBuckets
from models.users import Role
from services.users import profiles as users_service
from tests.handlers.recording import make_bot, text_update

USER = 7


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [buckets.take(1)[0] for _ in range(3)] == [True, True, True]
    assert buckets.take(1) == (False, True)  # first excess: warn once
    assert buckets.take(1) == (False, False)  # later excess: silent
    clock.now += 0.5  # one token back at 2/s
    assert buckets.take(1) == (True, False)
    assert buckets.take(1) == (False, False)  # still the same burst: no second warning


def test_users_are_independent() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, clock=clock)
    assert buckets.take(1)[0]
    assert not buckets.take(1)[0]
    assert buckets.take(2)[0]


def test_warning_again_after_recovery() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=2, clock=clock)
    buckets.take(1), buckets.take(1)
    assert buckets.take(1) == (False, True)
    clock.now += 10  # fully refilled
    buckets.take(1), buckets.take(1)
    assert buckets.take(1) == (False, True)


def test_memory_is_bounded() -> None:
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, clock=Clock(), max_keys=100)
    for user in range(1000):
        buckets.take(user)
    assert len(buckets._buckets) == 100


# -- the warning's language, through the real dispatcher --------------------------------------
async def _flood(dp: Dispatcher, bot: Bot, user_id: int, telegram_language: str) -> None:
    for _ in range(3):
        result = await dp.feed_update(
            bot, text_update(user_id, "/cancel", language=telegram_language)
        )
        if isinstance(result, TelegramMethod):
            await bot(result)


@pytest.mark.parametrize(
    ("saved", "telegram", "default", "warning"),
    [
        ("es", "en", "en", "Estás enviando demasiado rápido. Espera unos segundos."),
        ("ru", "es", "en", "Вы отправляете слишком часто. Подождите несколько секунд."),
        (None, "es", "en", "Estás enviando demasiado rápido. Espera unos segundos."),
        (None, "pt-BR", "ru", "Вы отправляете слишком часто. Подождите несколько секунд."),
    ],
)
async def test_warning_speaks_the_saved_language(
    database: str, saved: str | None, telegram: str, default: str, warning: str
) -> None:
    """The saved language wins over Telegram's language_code, as in every other reply."""
    settings = load_settings(
        _env_file=None, throttle_rate=0.001, throttle_burst=1, default_language=default
    )
    bot, session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n())
    await users_service.seed(USER, "Ana", "ana", Role.PUBLIC)
    if saved is not None:
        await users_service.set_language(USER, saved)
    await _flood(dp, bot, USER, telegram)
    assert session.texts()[-1] == warning
    assert len(session.texts()) == 2  # the one allowed reply, then the one warning
