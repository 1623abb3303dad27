"""Executing commands on a :class:`~trading.brokers.base.Broker`: guards, then the order.

Every method returns the :class:`Ack` to send; broker refusals become ``rejected`` acks with
the broker's reason, never exceptions, except the :data:`UNSETTLED` errors, which the client
handles: :class:`~trading.brokers.base.ResultUnknown` (the order may exist: follow it up) and
a lost connection or AutoTrading off before anything was sent (leave the command pending).
What happened to a placed order afterwards (filled, expired, stopped out) is
:mod:`ea.client.follow`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from ea.client.wire import Ack, Command, WireError
from trading.brokers.base import (
    Broker,
    BrokerError,
    ConnectionLost,
    OrderNotFound,
    OrderRequest,
    OrderState,
    OrderType,
    Side,
    TradingDisabled,
)

MAGIC = 20_260_515  # identifies SignalDesk's orders at the broker (MQL5 EA: the same default)
UNSETTLED = (ConnectionLost, TradingDisabled)  # includes ResultUnknown (a ConnectionLost)


@dataclass(frozen=True, slots=True)
class Guards:
    """Local limits checked before an ``open`` reaches the broker (None: no limit)."""

    max_spread_points: int | None = None
    max_lot: Decimal | None = None
    max_positions: int | None = None  # our open positions + pending orders (by magic)


async def with_spread(broker: Broker, ack: Ack, symbol: str) -> Ack:
    """A ``filled`` ack with the symbol's spread now, in points ((ask - bid) / point, what
    MT5's SYMBOL_SPREAD reports); unchanged when the broker cannot tell (no quote, no spec)."""
    if ack.status != "filled" or ack.spread_points is not None or not symbol:
        return ack
    try:
        tick = await broker.tick(symbol)
        point = (await broker.symbol_spec(symbol)).point
    except (BrokerError, ValueError):
        return ack
    if point <= 0 or tick.ask < tick.bid:
        return ack
    return replace(ack, spread_points=int(((tick.ask - tick.bid) / point).to_integral_value()))


def refusal(command_id: str, exc: BrokerError) -> Ack:
    """A broker error as an ack: ``failed`` when the link broke, else ``rejected``."""
    status = "failed" if isinstance(exc, ConnectionLost) else "rejected"
    return Ack(command_id, status, error=f"{exc.code}: {exc.message}")


class Executor:
    """Turns commands into broker calls; ``magic`` marks our orders."""

    def __init__(self, broker: Broker, *, magic: int = MAGIC, guards: Guards | None = None):
        self.broker = broker
        self.magic = magic
        self.guards = guards or Guards()

    async def guard(self, cmd: Command) -> str | None:
        """Why ``cmd`` must not be placed, or None. Reasons are shown to the user as is."""
        g = self.guards
        if cmd.volume is None or cmd.volume <= 0:
            return "volume missing or not positive"
        if g.max_lot is not None and cmd.volume > g.max_lot:
            return f"guard: volume {cmd.volume} > max lot {g.max_lot}"
        if g.max_positions is not None:
            positions = await self.broker.positions()
            orders = await self.broker.orders()
            ours = sum(1 for p in positions if p.magic == self.magic)
            ours += sum(1 for o in orders if o.magic == self.magic)
            if ours >= g.max_positions:
                return f"guard: {ours} open positions/orders >= max {g.max_positions}"
        if g.max_spread_points is not None:
            tick = await self.broker.tick(cmd.symbol)
            point = (await self.broker.symbol_spec(cmd.symbol)).point
            spread = (tick.ask - tick.bid) / point
            if spread > g.max_spread_points:
                return f"guard: spread {spread:.0f} points > max {g.max_spread_points}"
        return await self._netting_guard(cmd)

    async def _netting_guard(self, cmd: Command) -> str | None:
        """A netting account holds one position per symbol: an opposite order would close
        (part of) another signal's position instead of opening one, so it is refused."""
        if (await self.broker.account()).hedging:
            return None
        for pos in await self.broker.positions(cmd.symbol):
            if str(pos.side) != cmd.side:
                return (
                    f"netting account: a {pos.side} position of {cmd.symbol} is open (#"
                    f"{pos.ticket}); a {cmd.side} order would close it instead of opening one"
                )
        return None

    def request(self, cmd: Command) -> OrderRequest:
        """The broker order for an ``open`` (:class:`WireError` when fields are missing)."""
        if cmd.order_type not in ("limit", "market"):
            msg = f"order_type must be limit or market, got {cmd.order_type!r}"
            raise WireError(msg)
        if cmd.volume is None or (cmd.order_type == "limit" and cmd.price is None):
            msg = "an open needs a volume, and a price for a limit order"
            raise WireError(msg)
        return OrderRequest(
            symbol=cmd.symbol,
            side=Side(cmd.side),
            order_type=OrderType(cmd.order_type),
            volume=cmd.volume,
            price=cmd.price,
            sl=cmd.sl,
            tp=cmd.tp,
            expires_at=cmd.expires_at,
            comment=cmd.order_comment,
            magic=self.magic,
            client_id=cmd.order_comment,
        )

    async def open(self, cmd: Command) -> tuple[Ack, int | None]:
        """Place the order: ``placed`` (limit) or ``filled`` (market), and the broker time."""
        try:
            result = await self.broker.place_order(self.request(cmd))
        except UNSETTLED:
            raise
        except BrokerError as exc:
            return refusal(cmd.id, exc), None
        status = "filled" if result.filled else "placed"
        ticket = result.position if result.filled and result.position else result.ticket
        ack = Ack(cmd.id, status, ticket, result.price, result.volume, result.time)
        return ack, int(result.time.timestamp())

    async def modify(self, cmd: Command, ticket: int | None) -> Ack:
        """Move a pending order (price, sl, tp) or, once filled, the position's sl/tp."""
        if ticket is None:
            return Ack(cmd.id, "rejected", error="modify: no ticket for this signal")
        try:
            if any(o.ticket == ticket for o in await self.broker.orders()):
                price = cmd.price
                if price is None:
                    return Ack(cmd.id, "rejected", ticket, error="modify: price missing")
                order = await self.broker.modify_order(ticket, price, cmd.sl, cmd.tp)
                return Ack(cmd.id, "placed", ticket, order.price, order.volume, _now())
            pos = await self.broker.modify_position(ticket, cmd.sl, cmd.tp)
        except OrderNotFound:
            return Ack(cmd.id, "rejected", ticket, error=f"modify: #{ticket} is not open")
        except UNSETTLED:
            raise
        except BrokerError as exc:
            return refusal(cmd.id, exc)
        return Ack(cmd.id, "filled", ticket, pos.open_price, pos.volume, _now())

    async def cancel(self, cmd: Command, ticket: int | None) -> Ack:
        """Delete a pending order; one that is already gone counts as cancelled, unless it
        became a position (then the server must send a close)."""
        if ticket is None:
            return Ack(cmd.id, "rejected", error="cancel: no ticket for this signal")
        try:
            await self.broker.cancel_order(ticket)
        except OrderNotFound:  # a netting fill leaves no position of that ticket: ask history
            filled = any(p.ticket == ticket for p in await self.broker.positions())
            if filled or await self.broker.order_state(ticket) is OrderState.FILLED:
                return Ack(cmd.id, "rejected", ticket, error=f"cancel: #{ticket} already filled")
        except UNSETTLED:
            raise
        except BrokerError as exc:
            return refusal(cmd.id, exc)
        return Ack(cmd.id, "cancelled", ticket, time=_now())

    async def close(self, cmd: Command, ticket: int | None, share: Decimal | None = None) -> Ack:
        """Close ``volume`` of the position, else our ``share`` of it (a netting position can
        hold other fills: they stay open), else all of it; an already closed one is done. The
        exit carries the command's comment, so a close whose result was lost is found again."""
        if ticket is None:
            return Ack(cmd.id, "rejected", error="close: no ticket for this signal")
        try:
            volume = cmd.volume or await self._share(ticket, share)
            deal = await self.broker.close_position(ticket, volume, comment=cmd.order_comment)
        except OrderNotFound:
            if any(o.ticket == ticket for o in await self.broker.orders()):
                return await self._cancel_instead(cmd, ticket)
            return Ack(cmd.id, "closed", ticket, time=_now(), error=f"#{ticket} was not open")
        except UNSETTLED:
            raise
        except BrokerError as exc:
            return refusal(cmd.id, exc)
        return Ack(cmd.id, "closed", ticket, deal.price, deal.volume, deal.time)

    async def _share(self, ticket: int, share: Decimal | None) -> Decimal | None:
        """Our share when the position holds more than we filled into it; None: all of it."""
        pos = next((p for p in await self.broker.positions() if p.ticket == ticket), None)
        if share is None or pos is None or pos.volume <= share:
            return None
        return share

    async def _cancel_instead(self, cmd: Command, ticket: int) -> Ack:
        """A close for an order that never filled: delete it, and the close is done."""
        try:
            await self.broker.cancel_order(ticket)
        except UNSETTLED:
            raise
        except BrokerError as exc:
            return refusal(cmd.id, exc)
        return Ack(cmd.id, "closed", ticket, time=_now(), error="pending order cancelled")


def _now() -> datetime:
    return datetime.now(UTC)
