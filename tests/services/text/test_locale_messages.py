"""What the outbox sends Spanish and Russian readers: signal cards, summaries, fills, the
drawdown guard and copy skips with their dates, numbers and counts in the reader's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from models.devices import AccountSnapshot, CommandStatus, CommandType, DeviceMode, Position
from models.signals import CloseReason, SignalStatus
from services.app_settings import Visibility
from services.signals.views import SignalView, free_text, full_text, update_text
from services.terminals import acks, risk_guard
from services.terminals.messages import Recipient, skip_reason
from services.terminals.protocol import AckIn
from services.users import profiles as users_service
from tests.services.terminals import helpers as th

SUB = 701
NBSP = "\xa0"
ENGLISH_DATE_WORDS = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b"
)
AT = datetime(2017, 5, 12, 14, 0, tzinfo=UTC)


def view(**changes: object) -> SignalView:
    base: dict[str, object] = {
        "id": 7, "symbol": "XAUUSD", "side": "buy", "status": SignalStatus.PUBLISHED,
        "close_reason": None, "version": 1, "entry": D("2350.5"), "stop": D("2340.25"),
        "take_profit": D("2383.8"), "digits": 2, "published_at": AT,
        "expires_at": AT + timedelta(hours=100), "result_r": None, "rationale": "",
        "price_adjusted": False, "trigger_time": AT - timedelta(hours=9),
        "leg2_start": AT - timedelta(hours=5),
    }  # fmt: skip
    return SignalView(**(base | changes))  # type: ignore[arg-type]


CARDS = {
    "es": ("Entrada: <code>2.350,50</code>", "La orden caduca el 16 may 2017, 18:00 UTC",
           "Beneficio:riesgo 1:3,25", "(+3,25 R)"),
    "ru": (f"Вход: <code>2{NBSP}350,50</code>", "Ордер истекает 16 мая 2017\u202fг., 18:00 UTC",
           "Прибыль:риск 1:3,25", "(+3,25 R)"),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["es", "ru"])
def test_signal_card_summary_and_outcome(lang: str) -> None:
    entry, expires, rr, result = CARDS[lang]
    card = full_text(view(), lang, Visibility.FULL)
    assert entry in card and rr in card and expires in card
    summary = free_text(view(), lang)
    closed = view(status=SignalStatus.CLOSED, close_reason=CloseReason.TP, result_r=D("3.25"))
    outcome = update_text(closed, lang, Visibility.FULL, "closed")
    assert result in outcome
    for text in (card, summary, outcome):
        assert not ENGLISH_DATE_WORDS.search(text), text
        assert "2350.50" not in text and "3.25" not in text


@pytest.mark.parametrize(
    ("lang", "price", "slippage"),
    [
        ("en", "1.07592", "(slippage 0.0 pt)"),
        ("es", "1,07592", "(deslizamiento 0,0 pt)"),
        ("ru", "1,07592", "(проскальзывание 0,0 пт)"),
    ],
)
async def test_a_fill_at_the_asked_price_never_says_minus_zero(
    database: str, lang: str, price: str, slippage: str
) -> None:
    """A sell filled exactly at its price: (-1) * 0 is Decimal("-0.0"), shown "0.0"."""
    sam = await th.user(SUB)
    await users_service.set_language(SUB, lang)
    dev = await th.device(sam)
    signal = await th.publish()
    await th.approve(sam, signal.id)
    (cmd,) = await th.commands(CommandType.OPEN)
    fill = AckIn(command_id=cmd.id, status=CommandStatus.FILLED, error=None, ticket=5001,
                 price=th.ENTRY, volume=D("0.53"), time=datetime.now(UTC))  # fmt: skip
    await acks.acknowledge(dev.id, fill)
    (text,) = await th.texts(SUB, "terminal.filled")
    assert price in text and slippage in text, text
    assert "-0" not in text


@pytest.mark.parametrize(
    ("lang", "numbers", "counts"),
    [
        ("es", f"un 20{NBSP}% por debajo de su máximo de 10.000,00{NBSP}US$",
         "Cerrando 1 posición y cancelando 0 órdenes pendientes"),
        ("ru", f"на 20{NBSP}% ниже максимума 10{NBSP}000,00{NBSP}$",
         "Закрываем 1 позицию и отменяем 0 отложенных ордеров"),
    ],
)  # fmt: skip
async def test_the_guards_notice(database: str, lang: str, numbers: str, counts: str) -> None:
    sam = await th.user(SUB)
    await users_service.set_language(SUB, lang)
    dev = await th.device(sam, mode=DeviceMode.APPROVAL)
    await Position.create(device=dev, ticket=9, symbol="EURUSD", side="buy", volume=D("0.1"),
                          open_price=D("1.1"), profit=D("-2000"), comment="")  # fmt: skip
    snapshot = await AccountSnapshot.create(
        device=dev, balance=D(10000), equity=D(8000), margin=0, currency="USD",
        high_water=D(10000), drawdown_pct=D(20),
    )  # fmt: skip
    assert await risk_guard.check(dev.id, snapshot) is not None
    (text,) = await th.texts(SUB, "terminal.guard")
    assert numbers in text and counts in text, text


@pytest.mark.parametrize(
    ("n", "ru"),
    [(1, "1 сделка"), (2, "2 сделки"), (5, "5 сделок"), (21, "21 сделка"), (22, "22 сделки")],
)
def test_copy_skip_reasons_count_in_russian(n: int, ru: str) -> None:
    to = Recipient(SUB, "ru")
    text = skip_reason(to, "max_trades_per_day", {"count": n, "limit": n})
    assert text.startswith(f"сегодня на нём уже {ru} ")
    positions = skip_reason(to, "max_open_positions", {"count": n, "limit": n})
    assert f"уже {n} " in positions
