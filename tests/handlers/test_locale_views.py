"""What Spanish and Russian readers see through the real dispatcher: dates, numbers, money and
state names in their language (no English month names, no "1,234.56", no raw "closed")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from handlers.terminal_views import DevCB
from models.devices import AccountSnapshot, Device, Position
from models.signals import SymbolState
from models.users import Role
from services.signals import lifecycle as signals
from services.signals.callbacks import SignalCB
from services.terminals import devices
from services.users import profiles as users_service
from tests.handlers.recording import callback_update, make_bot, text_update
from tests.services.terminals import helpers as th

SUB, ADMIN = 21, 22
NBSP = "\xa0"
ENGLISH_DATE_WORDS = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b"
)
ENGLISH_NUMBER = re.compile(r"\d,\d{3}\.\d|\d\.\d{2}\b")  # 1,234.56 / 1.24
SEEN = datetime(2017, 5, 12, 14, 0, tzinfo=UTC)


class Chat:
    """The dispatcher with a recording bot; `say`/`press` return what the bot sent."""

    def __init__(self) -> None:
        self.bot, self.session = make_bot()
        settings = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000)
        self.dp = create_dispatcher(settings, self.bot, build_i18n())

    async def say(self, user_id: int, text: str) -> str:
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, text_update(user_id, text))
        return self._sent(before)

    async def press(self, user_id: int, data: str) -> str:
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, callback_update(user_id, data))
        return self._sent(before)

    def _sent(self, since: int) -> str:
        texts = [getattr(c, "text", None) for c in self.session.calls[since:]]
        return "\n".join(t for t in texts if t)


@pytest.fixture
async def chat(database: str) -> AsyncIterator[Chat]:
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(ADMIN, "Ada", "ada", Role.ADMIN)
    yield Chat()


async def _terminal() -> Device:
    new = await devices.create_device(SUB, "Main MT5")
    dev = await Device.get(device_id=new.device_id)
    await Device.filter(id=dev.id).update(last_seen_at=SEEN)
    await AccountSnapshot.create(
        device=dev, balance=D("12345.6"), equity=D("9875.5"), margin=D(50), currency="USD",
        high_water=D("12345.6"), drawdown_pct=D("1.24"),
    )  # fmt: skip
    await Position.create(
        device=dev, ticket=555, symbol="EURUSD", side="sell", volume=D("0.53"),
        open_price=D("1.07592"), profit=D("-1124.5"), comment="manual", orphan=True,
    )  # fmt: skip
    return dev


LOCALES = {
    "es": {
        "account": f"Saldo 12.345,60{NBSP}US$ · equity 9.875,50{NBSP}US$ · drawdown 1,24{NBSP}%",
        "seen": "12 may 2017, 14:00 UTC (hace ",  # and how long ago
        "position": "#555 EURUSD VENTA 0,53 @ 1,07592 · resultado <b>-1.124,50</b>",
        "risk": f"<b>2{NBSP}%</b>",
        "mode": "Modo: aprobación",
    },
    "ru": {
        "account": (
            f"Баланс 12{NBSP}345,60{NBSP}$ · эквити 9{NBSP}875,50{NBSP}$ · просадка 1,24{NBSP}%"
        ),
        "seen": "12 мая 2017\u202fг., 14:00 UTC (",
        "position": f"#555 EURUSD ПРОДАЖА 0,53 @ 1,07592 · результат <b>-1{NBSP}124,50</b>",
        "risk": f"<b>2{NBSP}%</b>",
        "mode": "Режим: одобрение",
    },
}


@pytest.mark.parametrize("lang", ["es", "ru"])
async def test_devices_positions_and_risk_settings(chat: Chat, lang: str) -> None:
    want = LOCALES[lang]
    await users_service.set_language(SUB, lang)
    dev = await _terminal()
    listing = await chat.say(SUB, "/devices")
    assert want["account"] in listing and want["seen"] in listing
    assert lang != "ru" or re.search(r"\(\d+ (год|года|лет) назад\)", listing), listing
    card = await chat.press(SUB, DevCB(action="open", device_id=dev.device_id).pack())
    assert want["mode"] in card
    positions = await chat.say(SUB, "/positions")
    assert want["position"] in positions and want["account"] in positions
    settings = await chat.press(SUB, DevCB(action="settings", device_id=dev.device_id).pack())
    assert want["risk"] in settings
    for text in (listing, card, positions, settings):
        assert not ENGLISH_DATE_WORDS.search(text), text
        assert not ENGLISH_NUMBER.search(text), text


@pytest.mark.parametrize(
    ("lang", "line", "market"),
    [
        ("es", "Última vela 12 may 2017, 14:00 UTC · 21 velas · 1 señal abierta", "mercado"),
        (
            "ru",
            "Последний бар 12 мая 2017\u202fг., 14:00 UTC · 21 бар · 1 открытый сигнал",
            "рынок",
        ),
    ],
)
async def test_strategy_status(chat: Chat, lang: str, line: str, market: str) -> None:
    await users_service.set_language(ADMIN, lang)
    await SymbolState.create(symbol="EURUSD", last_bar_time=SEEN, bars_seen=21)
    await th.publish()
    text = await chat.say(ADMIN, "/strategy")
    assert line in text and market in text
    assert not ENGLISH_DATE_WORDS.search(text), text


@pytest.mark.parametrize(
    ("lang", "entry", "expires", "status"),
    [
        ("es", "Entrada: <code>1,07592</code>", "La orden caduca", "Estado: orden pendiente"),
        ("ru", "Вход: <code>1,07592</code>", "Ордер истекает", "Статус: отложенный ордер"),
    ],
)
async def test_signal_details(
    chat: Chat, lang: str, entry: str, expires: str, status: str
) -> None:
    await users_service.set_language(SUB, lang)
    view = await th.publish()
    text = await chat.press(SUB, SignalCB(action="details", signal_id=view.id).pack())
    assert entry in text and expires in text and status in text
    assert not ENGLISH_DATE_WORDS.search(text), text
    assert "1.07592" not in text


@pytest.mark.parametrize(
    ("lang", "refusal"),
    [
        ("es", "La señal #{id} está «cancelada»; no puede pasar a «cancelada»."),
        ("ru", "Сигнал #{id} сейчас в состоянии «отменён»; перевести его в «отменён» нельзя."),
    ],
)
async def test_state_names_in_refusals_are_words(chat: Chat, lang: str, refusal: str) -> None:
    """ "в состоянии closed; перейти в cancelled нельзя": the states are translated."""
    await users_service.set_language(ADMIN, lang)
    view = await th.publish()
    await signals.cancel(view.id, ADMIN)
    text = await chat.say(ADMIN, f"/cancel_signal {view.id}")
    assert text == refusal.format(id=view.id)
