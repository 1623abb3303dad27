"""A subscriber's own results against the signal track record over the same period.

The period selects the strategy's closed signals by their close time (`Signal.closed_at` in
``[start, end)``, a result in R; a manual close without a price has none and is left out).
Against them, the user's terminals' fills of those signals (revoked terminals too: the trades
happened):

- *taken*: signals with at least one fill of the user's terminals;
- *your result* in R: per signal the mean over the user's closed fills of
  `trading.metrics.realised_r` (close against fill price, in the signal's risk: its entry to
  its stop), summed over signals; a fill still open or closed without a price has no R yet;
- *slippage cost* in R: per signal the mean `trading.metrics.slippage_r` of its fills against
  the signal's entry (positive: worse), summed: what worse fills cost over the period;
- *P&L in money*: the sum of the fills' profit as the terminal reported it, per account
  currency (the terminal's newest account report names it; never converted);
- the *strategy's* R: the sum of `result_r` over every signal of the period;
- the *spread at fill*: the median over the user's fills of the spread their EA reported at
  the fill, in points (None: no fill reported one);
- *your brokers*: the brokers the user's terminals report (their own data: every one is named,
  unlike the public breakdown's rule in `services.analytics.brokers`).

Each figure is given for the whole period and per UTC calendar month of the signals' close.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from models.devices import AccountSnapshot, Device
from models.devices import Execution as ExecutionRow
from models.signals import Signal, SignalStatus
from services.analytics.brokers import broker_key, median_of
from services.analytics.period import Period
from services.miniapp.performance import measure
from services.terminals.overview import require_entitled
from services.users.profiles import UserInfo
from trading import metrics


@dataclass(frozen=True, slots=True)
class MoneyTotal:
    currency: str  # the account's currency as the terminal reports it ("" unknown)
    profit: Decimal


@dataclass(frozen=True, slots=True)
class Results:
    signals: int  # the strategy's closed signals
    taken: int  # of them, filled by the user's terminals
    closed: int  # of the taken ones, with a closed fill that has a result in R
    my_r: float
    strategy_r: float
    slippage_r: float  # > 0: worse fills cost this much
    money: tuple[MoneyTotal, ...]  # by currency code
    median_spread_points: float | None  # the spread at the user's fills, as the EA reported it


@dataclass(frozen=True, slots=True)
class MonthResults:
    year: int
    month: int
    results: Results


@dataclass(frozen=True, slots=True)
class MyStats:
    period: Period
    terminals: int  # the user's terminals, revoked ones included
    brokers: tuple[str, ...]  # the brokers the user's terminals report, by name
    total: Results
    months: tuple[MonthResults, ...]  # months with a closed signal, oldest first


@dataclass(slots=True)
class _Tally:
    signals: int = 0
    taken: int = 0
    closed: int = 0
    my_r: float = 0.0
    strategy_r: float = 0.0
    slippage_r: float = 0.0
    money: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    spreads: list[int] = field(default_factory=list)

    def add(self, signal: Signal, fills: list[_Fill]) -> None:
        self.signals += 1
        self.strategy_r += float(signal.result_r or 0)
        if not fills:
            return
        self.taken += 1
        in_r = [f.r for f in fills if f.r is not None]
        if in_r:
            self.closed += 1
            self.my_r += float(sum(in_r)) / len(in_r)
        slips = [f.slippage_r for f in fills if f.slippage_r is not None]
        if slips:
            self.slippage_r += float(sum(slips)) / len(slips)
        for f in fills:
            if f.profit is not None:
                self.money[f.currency] += f.profit
            if f.spread_points is not None:
                self.spreads.append(f.spread_points)

    def frozen(self) -> Results:
        return Results(
            self.signals, self.taken, self.closed, self.my_r, self.strategy_r, self.slippage_r,
            tuple(MoneyTotal(c, p) for c, p in sorted(self.money.items())),
            median_of(self.spreads),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Fill:
    r: float | None
    slippage_r: float | None
    profit: Decimal | None
    currency: str
    spread_points: int | None


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def _own_r(row: ExecutionRow, signal: Signal) -> float | None:
    if row.closed_at is None or row.close_price is None or row.side not in ("buy", "sell"):
        return None
    return _defined(metrics.realised_r(
        row.side, float(row.fill_price), float(row.close_price), float(signal.entry),
        float(signal.stop),
    ))  # fmt: skip


async def _currencies(devices: list[Device]) -> dict[int, str]:
    out = {}
    for device in devices:
        snap = await AccountSnapshot.filter(device_id=device.id).order_by("-id").first()
        out[device.id] = "" if snap is None else snap.currency
    return out


async def period_signals(period: Period) -> list[Signal]:
    """The strategy's closed signals with a result whose close falls in `period`."""
    return await Signal.filter(
        status=SignalStatus.CLOSED, result_r__isnull=False,
        closed_at__gte=period.start, closed_at__lt=period.end,
    ).order_by("closed_at", "id")  # fmt: skip


async def _fills(devices: list[Device], signals: dict[int, Signal]) -> dict[int, list[_Fill]]:
    if not devices or not signals:
        return {}
    by_id = {d.id: d for d in devices}
    rows = await ExecutionRow.filter(
        device_id__in=list(by_id), signal_id__in=list(signals)
    ).order_by("id")
    pairs = [(by_id[r.device_id], r) for r in rows]  # type: ignore[attr-defined]
    currency = await _currencies(devices)
    out: dict[int, list[_Fill]] = defaultdict(list)
    for (device, row), measured in zip(pairs, await measure(pairs), strict=True):
        signal = signals[row.signal_id or 0]
        out[signal.id].append(
            _Fill(_own_r(row, signal), measured.slippage_r, row.profit, currency[device.id],
                  row.spread_points)
        )  # fmt: skip
    return out


def _brokers(devices: list[Device]) -> tuple[str, ...]:
    """The distinct brokers the terminals report (one spelling each), by name."""
    names: dict[str, str] = {}
    for device in devices:
        key = broker_key(device.broker)
        if key is not None and device.broker is not None:
            names.setdefault(key, " ".join(device.broker.split()))
    return tuple(sorted(names.values(), key=str.casefold))


async def my_stats(user: UserInfo, period: Period) -> MyStats:
    """The user's results over `period` against the strategy's (see the module's text).
    Terminals are the paid feature's: a user without it gets PermissionDenied."""
    require_entitled(user)
    devices = list(await Device.filter(user_id=user.id).order_by("id"))
    signals = await period_signals(period)
    fills = await _fills(devices, {s.id: s for s in signals})
    total = _Tally()
    months: dict[tuple[int, int], _Tally] = {}
    for s in signals:
        at = s.closed_at
        if at is None:  # filtered on closed_at above: only for the type checker
            continue
        total.add(s, fills.get(s.id, []))
        months.setdefault((at.year, at.month), _Tally()).add(s, fills.get(s.id, []))
    return MyStats(
        period=period,
        terminals=len(devices),
        brokers=_brokers(devices),
        total=total.frozen(),
        months=tuple(MonthResults(y, m, t.frozen()) for (y, m), t in sorted(months.items())),
    )
