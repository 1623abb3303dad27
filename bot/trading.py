"""Assembly of the trading loop from settings: the feed per symbol and a runner per symbol."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np

from core.settings import Settings
from jobs.trading_loop import TradingLoop
from models.signals import SymbolState
from services.ops_alerts import OpsAlerts
from services.signals.trading_loop import SymbolRunner
from trading.brokers.base import BrokerError
from trading.brokers.mt5 import MT5Broker, Mt5Unavailable
from trading.candles import load_csv, to_unix_s
from trading.feeds import CsvReplayFeed, MarketDataFeed, Mt5Feed, PushFeed, ReplayPacer
from trading.symbols import get_spec

log = logging.getLogger(__name__)


class FeedError(Exception):
    """The configured market data cannot be used (one readable line)."""


async def _last_bar(symbol: str) -> datetime | None:
    state = await SymbolState.get_or_none(symbol=symbol)
    return state.last_bar_time if state else None


async def replay_feed(
    settings: Settings, symbol: str, *, pacer: ReplayPacer | None = None
) -> CsvReplayFeed:
    """REPLAY_FILE's bars of `symbol`, resuming after the last bar applied; paced by
    REPLAY_INTERVAL_S, or by `pacer` (the sandbox's replay controls) when given."""
    try:
        candles = load_csv(settings.replay_file, symbol=symbol).candles
    except (OSError, ValueError) as exc:
        msg = f"REPLAY_FILE {settings.replay_file}: {exc}"
        raise FeedError(msg) from None
    last = await _last_bar(symbol)
    done = 0 if last is None else int(np.searchsorted(candles.time, to_unix_s(last), side="right"))
    return CsvReplayFeed(
        candles,
        interval_s=None if pacer is not None else settings.replay_interval_s or None,
        history_bars=max(settings.replay_history_bars, done),
        pacer=pacer,
    )


async def _mt5_feed(settings: Settings, module: Any | None) -> Mt5Feed:
    """MARKET_DATA=mt5: connect to the terminal on this machine (``initialize``, then ``login``
    when MT5_LOGIN is set: otherwise the account the terminal is logged in to)."""
    password = settings.mt5_password.get_secret_value() if settings.mt5_password else ""
    try:
        broker = MT5Broker(
            module,
            login=settings.mt5_login,
            password=password,
            server=settings.mt5_server or "",
            path=settings.mt5_path,
        )
        await broker.connect()
    except Mt5Unavailable:
        msg = "MARKET_DATA=mt5 needs the MetaTrader5 package, which exists only on Windows"
        raise FeedError(msg) from None
    except BrokerError as exc:
        msg = f"MARKET_DATA=mt5: MetaTrader 5 refused the connection: {exc}"
        raise FeedError(msg) from None
    offset_s = round(settings.mt5_server_utc_offset_h * 3600)
    return Mt5Feed(broker.mt5, server_utc_offset_s=offset_s)


async def build_trading_loop(
    settings: Settings,
    alerts: OpsAlerts,
    push_feed: PushFeed | None = None,
    feeds: dict[str, MarketDataFeed] | None = None,
    mt5_module: Any | None = None,
) -> TradingLoop | None:
    """The loop per settings; `feeds` (tests, embedding) overrides MARKET_DATA per symbol,
    `mt5_module` stands in for the ``MetaTrader5`` package (a fake of it in tests)."""
    if settings.market_data == "none" and not feeds:
        return None
    feeds = dict(feeds or {})
    runners: dict[str, SymbolRunner] = {}
    mt5: Mt5Feed | None = None  # one terminal connection serves every symbol
    for symbol in settings.symbols:
        if symbol in feeds:
            pass
        elif settings.market_data == "replay":
            feeds[symbol] = await replay_feed(settings, symbol)
        elif settings.market_data == "mt5":
            mt5 = mt5 or await _mt5_feed(settings, mt5_module)
            feeds[symbol] = mt5
        else:
            feeds[symbol] = push_feed or PushFeed()
        runners[symbol] = SymbolRunner(symbol, get_spec(symbol), alerts=alerts)
    poll_s = 0.05 if settings.market_data == "replay" else settings.loop_poll_s
    log.info("trading loop", extra={"symbols": list(runners), "feed": settings.market_data})
    return TradingLoop(runners, feeds, alerts, poll_s=poll_s)
