"""Paper broker: fill rules per bar and tick, the ledger, refusals, and invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.brokers.base import (
    Broker,
    DealEntry,
    DealReason,
    InvalidPrice,
    InvalidStops,
    InvalidVolume,
    MarketClosed,
    NoMoney,
    OrderNotFound,
    OrderRequest,
    OrderType,
    Side,
    UnknownSymbol,
)
from trading.brokers.paper import PaperBroker, PaperEngine, PaperEventKind
from trading.candles import Bar
from trading.symbols import get_spec

T0 = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
H = 3600
SPEC = get_spec("EURUSD")


def engine(spread_points: int = 0, commission: str = "0", **kw: object) -> PaperEngine:
    eng = PaperEngine(
        {"EURUSD": SPEC},
        spread_points=spread_points,
        commission_per_lot_money=D(commission),
        **kw,  # type: ignore[arg-type]
    )
    eng.on_bar("EURUSD", T0, H, 1.1000, 1.1010, 1.0990, 1.1000)  # quote: bid 1.1000
    return eng


def bar(eng: PaperEngine, k: int, o: float, h: float, low: float, c: float) -> list:  # type: ignore[type-arg]
    return eng.on_bar("EURUSD", T0 + k * H, H, o, h, low, c)


def limit(
    side: Side,
    price: str,
    sl: str | None = None,
    tp: str | None = None,
    lots: str = "0.10",
    expires_h: int | None = None,
) -> OrderRequest:
    expires = None if expires_h is None else datetime.fromtimestamp(T0 + H + expires_h * H, UTC)
    return OrderRequest(
        "EURUSD", side, OrderType.LIMIT, D(lots), D(price),
        None if sl is None else D(sl), None if tp is None else D(tp), expires,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("side", "price", "low", "high", "fills"),
    [
        (Side.BUY, "1.0950", 1.0950, 1.1000, True),  # touches exactly
        (Side.BUY, "1.0950", 1.0951, 1.1000, False),  # one point short
        (Side.SELL, "1.1050", 1.1000, 1.1050, True),
        (Side.SELL, "1.1050", 1.1000, 1.1049, False),
    ],
)
def test_limit_fills_when_the_bar_touches_it(
    side: Side, price: str, low: float, high: float, fills: bool
) -> None:
    eng = engine()
    eng.place(limit(side, price))
    events = bar(eng, 1, 1.1000, high, low, 1.1000)
    assert [e.kind for e in events] == ([PaperEventKind.FILLED] if fills else [])
    if fills:
        assert eng.ledger.positions()[0].open_price == D(price)


@pytest.mark.parametrize(("low", "fills"), [(1.0990, True), (1.09901, False)])
def test_buy_limit_fills_on_the_ask_bid_plus_spread(low: float, fills: bool) -> None:
    eng = engine(spread_points=10)  # ask = bid + 0.00010
    eng.place(limit(Side.BUY, "1.0991"))
    events = bar(eng, 1, 1.1000, 1.1005, low, 1.1000)
    assert bool(events) is fills


@pytest.mark.parametrize(
    ("side", "price", "gap_open"), [(Side.BUY, "1.0950", 1.0900), (Side.SELL, "1.1050", 1.1100)]
)
def test_a_gap_through_the_limit_fills_at_the_limit_never_better(
    side: Side, price: str, gap_open: float
) -> None:
    eng = engine()
    eng.place(limit(side, price))
    bar(eng, 1, gap_open, gap_open + 0.0005, gap_open - 0.0005, gap_open)
    assert eng.ledger.deals[-1].price == D(price)


@pytest.mark.parametrize(
    ("side", "ohlc", "price", "reason"),
    [
        # both levels inside one bar: the stop wins (the path inside a bar is unknown)
        (Side.BUY, (1.0950, 1.1100, 1.0850, 1.0950), "1.0900", DealReason.SL),
        (Side.BUY, (1.0950, 1.1100, 1.0920, 1.0950), "1.1050", DealReason.TP),
        # opens beyond the stop: filled at the open (slippage)
        (Side.BUY, (1.0880, 1.0890, 1.0870, 1.0880), "1.0880", DealReason.SL),
        # opens beyond the take-profit: filled at the open (gap in our favour)
        (Side.BUY, (1.1070, 1.1080, 1.1060, 1.1070), "1.1070", DealReason.TP),
        (Side.SELL, (1.1050, 1.1150, 1.0900, 1.1050), "1.1100", DealReason.SL),
        (Side.SELL, (1.1120, 1.1130, 1.1110, 1.1120), "1.1120", DealReason.SL),
        (Side.SELL, (1.0940, 1.0950, 1.0930, 1.0940), "1.0940", DealReason.TP),
    ],
)
def test_stop_and_take_profit_inside_a_bar(
    side: Side, ohlc: tuple[float, float, float, float], price: str, reason: DealReason
) -> None:
    eng = engine()
    if side is Side.BUY:
        eng.place(limit(side, "1.0950", sl="1.0900", tp="1.1050"))
        bar(eng, 1, 1.0960, 1.0970, 1.0950, 1.0960)  # fills, nothing else
    else:
        eng.place(limit(side, "1.1050", sl="1.1100", tp="1.0950"))
        bar(eng, 1, 1.1040, 1.1050, 1.1030, 1.1040)
    events = bar(eng, 2, *ohlc)
    assert [(e.kind, e.price, e.reason) for e in events] == [
        (PaperEventKind.CLOSED, D(price), reason)
    ]


@pytest.mark.parametrize(
    ("ohlc", "reason"),
    [
        ((1.1000, 1.1001, 1.0890, 1.0895), DealReason.SL),  # through entry to the stop
        ((1.1000, 1.1060, 1.0940, 1.1055), DealReason.TP),  # closes beyond the TP
        ((1.1000, 1.1060, 1.0940, 1.1000), None),  # TP touched, but maybe before the fill
    ],
)
def test_the_fill_bar_can_stop_out_but_needs_a_close_beyond_the_take_profit(
    ohlc: tuple[float, float, float, float], reason: DealReason | None
) -> None:
    eng = engine()
    eng.place(limit(Side.BUY, "1.0950", sl="1.0900", tp="1.1050"))
    events = bar(eng, 1, *ohlc)
    assert [e.reason for e in events if e.kind is PaperEventKind.CLOSED] == (
        [reason] if reason else []
    )


def test_pending_order_expires_at_expires_at_and_never_fills_after() -> None:
    eng = engine()
    eng.place(limit(Side.BUY, "1.0950", expires_h=2))  # placed at T0+1h, expires T0+3h
    assert bar(eng, 1, 1.1, 1.1, 1.0990, 1.1) == []
    events = bar(eng, 2, 1.1, 1.1, 1.0990, 1.1)  # closes at T0+3h: expired at the close
    assert [(e.kind, e.time) for e in events] == [
        (PaperEventKind.EXPIRED, datetime.fromtimestamp(T0 + 3 * H, UTC))
    ]
    assert bar(eng, 3, 1.1, 1.1, 1.0900, 1.1) == []
    assert eng.ledger.orders() == []


def test_a_bar_that_opens_after_expiry_does_not_fill() -> None:
    eng = engine()
    eng.place(limit(Side.BUY, "1.0950", expires_h=1))
    events = eng.on_bar("EURUSD", T0 + 5 * H, H, 1.09, 1.09, 1.08, 1.09)  # after a gap
    assert [e.kind for e in events] == [PaperEventKind.EXPIRED]


@pytest.mark.parametrize(("side", "price"), [(Side.BUY, D("1.10001")), (Side.SELL, D("1.10000"))])
def test_market_orders_fill_at_the_ask_or_bid(side: Side, price: D) -> None:
    eng = engine(spread_points=1)
    result = eng.place(OrderRequest("EURUSD", side, OrderType.MARKET, D("0.01")))
    assert result.filled and result.price == price and result.position == result.ticket


def test_accounting_profit_commission_balance_equity_and_history() -> None:
    eng = engine(commission="3.5")
    eng.place(limit(Side.BUY, "1.0950", sl="1.0900", tp="1.1050", lots="0.50"))
    bar(eng, 1, 1.0960, 1.0970, 1.0950, 1.0970)
    # floating: (1.0970 - 1.0950) / 0.00001 * 1 USD * 0.5 lots = 100.00
    account = eng.ledger.account()
    assert account.balance == D("9998.25")  # 10,000 - 3.50 * 0.5
    assert account.equity == D("10098.25")
    assert account.margin == D("1.0950") * 100_000 * D("0.5") / 100
    bar(eng, 2, 1.1000, 1.1060, 1.0990, 1.1040)  # TP at 1.1050: +500.00
    deals = eng.ledger.history(datetime(2000, 1, 1, tzinfo=UTC))
    assert [(d.entry, d.price, d.profit_money, d.commission_money) for d in deals] == [
        (DealEntry.IN, D("1.0950"), D(0), D("-1.75")),
        (DealEntry.OUT, D("1.1050"), D("500.00"), D("-1.75")),
    ]
    assert eng.ledger.balance == D("10496.50") == eng.ledger.account().equity


@pytest.mark.parametrize(
    ("request_", "error", "code"),
    [
        (limit(Side.BUY, "1.0950", sl="1.0960"), InvalidStops, "invalid_stops"),
        (limit(Side.SELL, "1.1050", tp="1.1060"), InvalidStops, "invalid_stops"),
        (limit(Side.BUY, "1.1010"), InvalidPrice, "invalid_price"),  # above the ask
        (limit(Side.SELL, "1.0990"), InvalidPrice, "invalid_price"),
        (limit(Side.BUY, "1.095001"), InvalidPrice, "invalid_price"),  # off the tick grid
        (limit(Side.BUY, "1.0950", lots="0.001"), InvalidVolume, "invalid_volume"),
        (limit(Side.BUY, "1.0950", lots="0.015"), InvalidVolume, "invalid_volume"),
        (limit(Side.BUY, "1.0950", lots="100"), NoMoney, "no_money"),
        (limit(Side.BUY, "1.0950", expires_h=-2), InvalidPrice, "invalid_price"),
    ],
)
def test_refusals_raise_typed_errors_with_codes(
    request_: OrderRequest, error: type[Exception], code: str
) -> None:
    eng = engine()
    with pytest.raises(error) as info:
        eng.place(request_)
    assert info.value.code == code  # type: ignore[attr-defined]
    assert eng.ledger.orders() == [] and eng.ledger.balance == D(10_000)


def test_no_quote_closed_market_unknown_symbol_and_unknown_ticket() -> None:
    fresh = PaperEngine({"EURUSD": SPEC})
    with pytest.raises(MarketClosed, match="feed a bar or a tick"):
        fresh.place(limit(Side.BUY, "1.0950"))
    closed = engine(market_open=lambda symbol, t: False)
    with pytest.raises(MarketClosed, match="market closed"):
        closed.place(limit(Side.BUY, "1.0950"))
    with pytest.raises(UnknownSymbol):
        engine().market.quote("XAUUSD")
    with pytest.raises(OrderNotFound):
        engine().cancel(42)


def test_modify_cancel_and_partial_close() -> None:
    eng = engine()
    ticket = eng.place(limit(Side.BUY, "1.0950", sl="1.0900")).ticket
    order = eng.modify_order(ticket, D("1.0960"), D("1.0910"), D("1.1100"))
    assert (order.price, order.sl, order.tp) == (D("1.0960"), D("1.0910"), D("1.1100"))
    with pytest.raises(InvalidStops):
        eng.modify_order(ticket, D("1.0960"), D("1.0970"), None)
    bar(eng, 1, 1.0970, 1.0980, 1.0960, 1.0970)
    position = eng.modify_position(ticket, D("1.0930"), None)
    assert position.sl == D("1.0930") and position.tp is None
    deal = eng.close_at_market(ticket, D("0.04"))
    assert deal.volume == D("0.04") and deal.profit_money == D("4.00")  # 10 points * 0.4
    assert eng.ledger.positions()[0].volume == D("0.06")
    other = eng.place(limit(Side.SELL, "1.1050")).ticket
    eng.cancel(other)
    assert [o.ticket for o in eng.ledger.orders()] == []


def test_ticks_fill_limits_and_exit_at_the_quote() -> None:
    eng = engine()
    eng.place(limit(Side.SELL, "1.1050", sl="1.1100", tp="1.0950"))
    t = datetime.fromtimestamp(T0 + H + 60, UTC)
    assert [e.kind for e in eng.on_tick("EURUSD", D("1.1051"), D("1.1052"), t)] == [
        PaperEventKind.FILLED
    ]
    events = eng.on_tick("EURUSD", D("1.1105"), D("1.1106"), t + timedelta(minutes=1))
    assert [(e.reason, e.price) for e in events] == [(DealReason.SL, D("1.1106"))]


async def test_the_async_facade_is_a_broker() -> None:
    broker = PaperBroker(PaperEngine({"EURUSD": SPEC}))
    assert isinstance(broker, Broker)
    broker.on_bar("EURUSD", Bar(datetime.fromtimestamp(T0, UTC), 1.1, 1.1, 1.1, 1.1))
    result = await broker.place_order(limit(Side.BUY, "1.0950"))
    assert [o.ticket for o in await broker.orders("EURUSD")] == [result.ticket]
    assert (await broker.tick("EURUSD")).bid == D("1.1")
    assert (await broker.symbol_spec("EURUSD")) is SPEC
    assert (await broker.account()).balance == D(10_000)
    with pytest.raises(UnknownSymbol):
        await broker.symbol_spec("NOPE")


_moves = st.lists(st.integers(-40, 40), min_size=1, max_size=40)
_orders = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(5, 60), st.integers(10, 60)),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    moves=_moves,
    orders=_orders,
    spread=st.integers(0, 20),
    commission=st.sampled_from(["0", "3.5"]),
)
def test_balance_is_conserved_and_fills_are_never_better_than_the_limit(
    moves: list[int], orders: list[tuple[Side, int, int]], spread: int, commission: str
) -> None:
    eng = engine(spread_points=spread, commission=commission)
    limits = {}
    for side, away_pips, stop_pips in orders:  # below the bid / above the ask, stop beyond
        sign = -1 if side is Side.BUY else 1
        price = D("1.1000") + sign * D(away_pips) / 10_000
        stop = price + sign * D(stop_pips) / 10_000
        limits[eng.place(limit(side, str(price), sl=str(stop))).ticket] = (side, price)
    close = 1.1000
    for k, move in enumerate(moves, start=1):
        o = close
        close = round(close + move / 10_000, 5)
        bar(eng, k, o, max(o, close) + 0.0005, min(o, close) - 0.0005, close)
    eng.close_all()
    deals = eng.ledger.deals
    assert eng.ledger.balance == D(10_000) + sum(
        d.profit_money + d.commission_money for d in deals
    )
    assert eng.ledger.account().equity == eng.ledger.balance
    for d in deals:
        if d.entry is DealEntry.IN:
            side, price = limits[d.order]
            assert (d.price <= price) if side is Side.BUY else (d.price >= price)
