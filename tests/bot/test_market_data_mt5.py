"""MARKET_DATA=mt5: the trading loop connects to the terminal with the MT5_* settings."""

from __future__ import annotations

import pytest

from bot.trading import FeedError, build_trading_loop
from core.settings import load_settings
from services.ops_alerts import OpsAlerts
from tests.fakes.fake_mt5 import FakeMT5
from trading.brokers.paper import PaperEngine
from trading.candles import load_csv
from trading.feeds import Mt5Feed
from trading.symbols import get_spec


def fake_terminal() -> FakeMT5:
    candles = load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles
    engine = PaperEngine({"EURUSD": get_spec("EURUSD"), "XAUUSD": get_spec("XAUUSD")})
    return FakeMT5(engine, {"EURUSD": candles}, start=300, login=1)


def mt5_settings(**overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"market_data": "mt5", "symbols": "EURUSD,XAUUSD"}
    values.update(overrides)
    return load_settings(_env_file=None, **values)


async def test_logs_in_once_and_feeds_every_symbol_from_the_terminal() -> None:
    fake = fake_terminal()
    settings = mt5_settings(mt5_login=7654321, mt5_password="pw-123", mt5_server="Broker-Live")
    loop = await build_trading_loop(settings, OpsAlerts(frozenset(), 60), mt5_module=fake)
    assert loop is not None
    assert fake.initialized and fake.account_login == 7654321
    feeds = [loop.feeds["EURUSD"], loop.feeds["XAUUSD"]]
    assert isinstance(feeds[0], Mt5Feed) and feeds[0] is feeds[1]  # one terminal connection
    bars = await loop.feeds["EURUSD"].next_closed_bars("EURUSD")
    assert len(bars) == 300  # every closed bar before the forming one


async def test_without_a_login_the_terminals_own_account_is_used() -> None:
    fake = fake_terminal()
    await build_trading_loop(mt5_settings(), OpsAlerts(frozenset(), 60), mt5_module=fake)
    assert fake.initialized and fake.account_login == 1


async def test_a_refused_login_is_one_readable_line_without_the_password() -> None:
    fake = fake_terminal()
    fake.inject("login", last_error=(-6, "Terminal: Authorization failed"))
    settings = mt5_settings(mt5_login=7654321, mt5_password="pw-123", mt5_server="Broker-Live")
    with pytest.raises(FeedError) as caught:
        await build_trading_loop(settings, OpsAlerts(frozenset(), 60), mt5_module=fake)
    message = str(caught.value)
    assert message.startswith("MARKET_DATA=mt5: MetaTrader 5 refused the connection: ")
    assert "check login, password and server" in message
    assert "pw-123" not in message and "\n" not in message


async def test_without_the_package_the_reason_is_given() -> None:
    with pytest.raises(FeedError, match="MetaTrader5 package, which exists only on Windows"):
        await build_trading_loop(mt5_settings(), OpsAlerts(frozenset(), 60))


def test_the_password_is_a_secret() -> None:
    settings = mt5_settings(mt5_password="pw-123")
    assert "pw-123" not in repr(settings) and "pw-123" not in str(settings)
