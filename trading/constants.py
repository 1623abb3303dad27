"""Strategy and market defaults: every tunable number of the trading core lives here.

Values are the defaults of STRATEGY.md ("The Fib-RSI strategy"); callers override them through
`trading.detector.StrategyParams` and the order-construction arguments, never by editing code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

# --- Fib-RSI detector (STRATEGY.md, "A setup") ---
RSI_PERIOD: Final[int] = 14
RSI_HIGH: Final[float] = 70.0
RSI_LOW: Final[float] = 40.0
WINDOW_HOURS: Final[int] = 100
ENTRY_RATIO: Final[float] = 0.74
STOP_RATIO: Final[float] = 0.27
REWARD_RISK: Final[float] = 3.25

# --- Life of a setup ---
MAX_SETUP_AGE_HOURS: Final[int] = 1440
ORDER_EXPIRY_HOURS: Final[int] = 100

# --- Order construction on a real symbol ---
LIMIT_ADJUST_POINTS: Final[int] = 10
MIN_STOP_POINTS: Final[int] = 5
DEFAULT_RISK_PCT: Final[float] = 2.0

# --- Time ---
SECONDS_PER_HOUR: Final[int] = 3600
DEFAULT_TIMEFRAME_S: Final[int] = 3600

# --- Market hours (STRATEGY.md, "Market hours"); wall-clock hours in New York ---
MARKET_TZ: Final[str] = "America/New_York"
WEEK_OPEN_HOUR_NY: Final[int] = 17  # Sunday
WEEK_CLOSE_HOUR_NY: Final[int] = 17  # Friday
METAL_PAUSE_START_HOUR_NY: Final[int] = 17
METAL_PAUSE_END_HOUR_NY: Final[int] = 18

# --- Symbol spec sanity (trading.symbols.SymbolSpec refuses a spec outside these) ---
MAX_DIGITS: Final[int] = 10
# relative tolerance of point == 10**-digits and tick_size == n * point (floats on the wire)
POINT_TOLERANCE: Final[Decimal] = Decimal("1e-6")
MAX_TICK_POINTS: Final[int] = 1_000_000  # a tick of at most this many points
MIN_TICK_VALUE: Final[Decimal] = Decimal("1e-9")  # account money per lot per tick
MAX_TICK_VALUE: Final[Decimal] = Decimal("1e9")
MIN_CONTRACT_SIZE: Final[Decimal] = Decimal("1e-9")  # base units per lot
MAX_CONTRACT_SIZE: Final[Decimal] = Decimal("1e9")
MIN_VOLUME_LOTS: Final[Decimal] = Decimal("1e-8")  # volume_min/max/step, lots
MAX_VOLUME_LOTS: Final[Decimal] = Decimal("1e9")
MAX_STOPS_LEVEL_POINTS: Final[int] = 1_000_000
