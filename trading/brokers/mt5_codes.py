"""MetaTrader 5 return codes, ``last_error()`` codes and timeframes, mapped to our types.

Reference: MQL5 docs, "Trade Server Return Codes" and the Python integration's ``last_error``
(``RES_E_*``). Retcodes are looked up BY NAME on the module, so a fake module only has to use
the documented names.
"""

from __future__ import annotations

from typing import Any

from trading.brokers.base import (
    BrokerError,
    ConnectionLost,
    InvalidPrice,
    InvalidStops,
    InvalidVolume,
    MarketClosed,
    NoMoney,
    OrderNotFound,
    OrderRejected,
    Requote,
    ResultUnknown,
    TradingDisabled,
)

__all__ = [
    "SUCCESS_RETCODES",
    "error_from_last_error",
    "error_from_retcode",
    "timeframe_name",
]

SUCCESS_RETCODES = ("TRADE_RETCODE_DONE", "TRADE_RETCODE_PLACED", "TRADE_RETCODE_DONE_PARTIAL")

_RETCODES: dict[str, tuple[type[BrokerError], str]] = {
    "TRADE_RETCODE_REQUOTE": (Requote, "requote: the price moved; retry at the new price"),
    "TRADE_RETCODE_PRICE_CHANGED": (Requote, "the price changed; retry at the new price"),
    "TRADE_RETCODE_PRICE_OFF": (Requote, "no quotes to process the request; retry later"),
    "TRADE_RETCODE_REJECT": (OrderRejected, "the trade server rejected the request"),
    "TRADE_RETCODE_CANCEL": (OrderRejected, "the request was cancelled by the trader"),
    "TRADE_RETCODE_ERROR": (OrderRejected, "the server failed to process the request"),
    "TRADE_RETCODE_INVALID": (OrderRejected, "the request is invalid"),
    "TRADE_RETCODE_INVALID_VOLUME": (InvalidVolume, "invalid volume: check min/max/step lots"),
    "TRADE_RETCODE_INVALID_PRICE": (InvalidPrice, "invalid price for this order type"),
    "TRADE_RETCODE_INVALID_STOPS": (
        InvalidStops,
        "invalid stops: wrong side of the price or closer than the stops level",
    ),
    "TRADE_RETCODE_TRADE_DISABLED": (OrderRejected, "trading is disabled for this symbol"),
    "TRADE_RETCODE_MARKET_CLOSED": (MarketClosed, "the market is closed"),
    "TRADE_RETCODE_NO_MONEY": (NoMoney, "not enough free margin for this volume"),
    "TRADE_RETCODE_INVALID_EXPIRATION": (OrderRejected, "invalid expiration time"),
    "TRADE_RETCODE_ORDER_CHANGED": (OrderRejected, "the order state changed; reload it"),
    "TRADE_RETCODE_TOO_MANY_REQUESTS": (OrderRejected, "too many requests; slow down"),
    "TRADE_RETCODE_SERVER_DISABLES_AT": (OrderRejected, "algo trading disabled by the server"),
    "TRADE_RETCODE_CLIENT_DISABLES_AT": (
        TradingDisabled,
        "algo trading disabled in the terminal; press 'Algo Trading'",
    ),
    "TRADE_RETCODE_LOCKED": (OrderRejected, "the request is locked for processing"),
    "TRADE_RETCODE_FROZEN": (OrderRejected, "the order or position is frozen (near the market)"),
    "TRADE_RETCODE_INVALID_FILL": (OrderRejected, "unsupported filling mode for this symbol"),
    # The result is unknown: the order may exist at the broker (look it up before deciding).
    "TRADE_RETCODE_CONNECTION": (ResultUnknown, "no connection with the trade server"),
    "TRADE_RETCODE_TIMEOUT": (ResultUnknown, "the request timed out"),
    "TRADE_RETCODE_ONLY_REAL": (OrderRejected, "only allowed for live accounts"),
    "TRADE_RETCODE_LIMIT_ORDERS": (OrderRejected, "the pending-orders limit is reached"),
    "TRADE_RETCODE_LIMIT_VOLUME": (OrderRejected, "the symbol's volume limit is reached"),
    "TRADE_RETCODE_LIMIT_POSITIONS": (OrderRejected, "the open-positions limit is reached"),
    "TRADE_RETCODE_INVALID_ORDER": (OrderNotFound, "no such order (or wrong order type)"),
    "TRADE_RETCODE_POSITION_CLOSED": (OrderNotFound, "the position is already closed"),
    "TRADE_RETCODE_INVALID_CLOSE_VOLUME": (InvalidVolume, "close volume exceeds the position"),
    "TRADE_RETCODE_CLOSE_ORDER_EXIST": (OrderRejected, "a close order already exists"),
    "TRADE_RETCODE_LONG_ONLY": (OrderRejected, "only long positions are allowed"),
    "TRADE_RETCODE_SHORT_ONLY": (OrderRejected, "only short positions are allowed"),
    "TRADE_RETCODE_CLOSE_ONLY": (OrderRejected, "only position closing is allowed"),
    "TRADE_RETCODE_FIFO_CLOSE": (OrderRejected, "positions must be closed FIFO"),
}

# last_error() codes of the Python integration (RES_S_OK = 1, failures negative).
_LAST_ERRORS: dict[int, tuple[type[BrokerError], str]] = {
    -1: (BrokerError, "generic failure"),
    -2: (BrokerError, "invalid arguments"),
    -3: (BrokerError, "out of memory"),
    -4: (BrokerError, "not found (unknown symbol, order or position?)"),
    -5: (ConnectionLost, "unsupported terminal version"),
    -6: (ConnectionLost, "authorisation failed: check login, password and server"),
    -7: (BrokerError, "method not supported"),
    -8: (TradingDisabled, "algo trading is disabled in the terminal; press 'Algo Trading'"),
    -10000: (ConnectionLost, "internal IPC failure"),
    -10001: (ConnectionLost, "internal IPC send failure"),
    -10002: (ConnectionLost, "internal IPC receive failure"),
    -10003: (ConnectionLost, "terminal initialisation failed"),
    -10004: (ConnectionLost, "no IPC connection to the terminal (is it running?)"),
    -10005: (ConnectionLost, "IPC timeout: the terminal did not answer"),
}

_TIMEFRAMES = {
    60: "TIMEFRAME_M1",
    300: "TIMEFRAME_M5",
    900: "TIMEFRAME_M15",
    1800: "TIMEFRAME_M30",
    3600: "TIMEFRAME_H1",
    14400: "TIMEFRAME_H4",
    86400: "TIMEFRAME_D1",
}


def retcode_name(mt5: Any, retcode: int) -> str:
    """The ``TRADE_RETCODE_*`` name of a numeric retcode on ``mt5`` ('' when unknown)."""
    for name in dir(mt5):
        if name.startswith("TRADE_RETCODE_") and getattr(mt5, name) == retcode:
            return name
    return ""


def error_from_retcode(mt5: Any, retcode: int, comment: str, action: str) -> BrokerError:
    """The :class:`BrokerError` for a failed ``order_send`` (``retcode`` not a success code)."""
    name = retcode_name(mt5, retcode)
    cls, why = _RETCODES.get(name, (OrderRejected, "unexpected return code"))
    label = f"{name} {retcode}" if name else f"retcode {retcode}"
    suffix = f" (server: {comment})" if comment else ""
    return cls(f"{action} failed: {why} [{label}]{suffix}", retcode=retcode)


def error_from_last_error(last_error: tuple[int, str], action: str) -> BrokerError:
    """The :class:`BrokerError` for a call that returned None; ``last_error`` is the
    ``(code, description)`` pair of ``mt5.last_error()``."""
    code, description = last_error
    cls, why = _LAST_ERRORS.get(code, (BrokerError, "unexpected error"))
    return cls(f"{action} failed: {why} [last_error {code}: {description}]", retcode=code)


def timeframe_name(timeframe_s: int) -> str:
    """``TIMEFRAME_*`` constant name for a bar length in seconds (3600 -> ``TIMEFRAME_H1``)."""
    name = _TIMEFRAMES.get(timeframe_s)
    if name is None:
        msg = f"no MT5 timeframe of {timeframe_s} s; use one of {sorted(_TIMEFRAMES)}"
        raise ValueError(msg)
    return name
