"""What became of our orders: fills, expiries and exits, read back from the broker.

Deals are matched by ORDER ticket and POSITION id, never by assuming the two are equal: on a
netting account a fill merges into the symbol's position, so its deal carries that position's
id, and an opposite fill is an OUT deal of somebody else's position. Two jobs, both read-only
at the broker:

* :func:`recover` after a crash or an unknown result: a command left ``executing`` is looked
  up by its order comment (orders, positions, then deals; for a close: its exit deal); what is
  found is acked, nothing is placed twice.
* :func:`follow` for ``placed``/``filled`` opens: a pending order whose deal appears is acked
  ``filled`` (ticket = the position id), one the broker's order history shows cancelled,
  expired or rejected ``cancelled``; an order that left the pending list with no deal and no
  final state yet is the fill race (the deal has not reached history): nothing is acked, it
  is looked at again next round. A position that is gone is acked ``closed`` with the
  volume-weighted exit price once its exits cover its entries (the server computes the P&L
  from the prices and the terminal's tick value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ea.client.state import Entry
from ea.client.wire import Ack
from trading.brokers.base import Broker, Deal, DealEntry, Order, OrderState, Position

HISTORY_MARGIN = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GONE = {
    OrderState.CANCELLED: "the pending order was cancelled at the broker",
    OrderState.EXPIRED: "the pending order expired at the broker",
    OrderState.REJECTED: "the broker rejected the pending order",
}


@dataclass(slots=True)
class BrokerView:
    """One consistent-enough look at the broker for a round of checks (deals fetched lazily)."""

    broker: Broker
    orders: list[Order]
    positions: list[Position]
    _deals: list[Deal] | None = None
    _since: datetime | None = None

    @classmethod
    async def take(cls, broker: Broker) -> BrokerView:
        return cls(broker, await broker.orders(), await broker.positions())

    async def deals(self, since: datetime) -> list[Deal]:
        if self._deals is None or self._since is None or since < self._since:
            self._deals, self._since = await self.broker.history(since), since
        return self._deals

    def position(self, ticket: int) -> Position | None:
        return next((p for p in self.positions if p.ticket == ticket), None)


def _matches(comment: str, item: Order | Position) -> bool:
    return bool(comment) and comment in (item.comment, item.client_id)


def _since(entry: Entry) -> datetime:
    if entry.since_s is None:
        return EPOCH
    return datetime.fromtimestamp(entry.since_s, tz=UTC) - HISTORY_MARGIN


def _vwap(deals: list[Deal]) -> tuple[Decimal, Decimal]:
    volume = sum((d.volume for d in deals), Decimal(0))
    return sum((d.price * d.volume for d in deals), Decimal(0)) / volume, volume


def order_deals(deals: list[Deal], order: int) -> list[Deal]:
    """The deals ``order`` itself made: its entries, or on a netting account the exit it made
    of an opposite position (a position's own exits, booked under its opening ticket by some
    brokers, are not the order's fill)."""
    return [
        d for d in deals if d.order == order and (d.entry == DealEntry.IN or d.position != order)
    ]


def fill_acks(command_id: str, ours: list[Deal], deals: list[Deal]) -> list[Ack]:
    """``filled`` from the order's own deals (ticket: the position they went into), and
    ``closed`` when that position is closed already. An order whose deals only reduced an
    opposite position (netting) is filled and closed at once: it holds nothing."""
    price, volume = _vwap(ours)
    first, position = ours[0], ours[0].position
    filled = Ack(command_id, "filled", position, price, volume, first.time)
    if all(d.entry == DealEntry.OUT for d in ours):
        why = f"netting: the fill reduced the opposite position #{position}"
        return [filled, Ack(command_id, "closed", position, price, volume, ours[-1].time, why)]
    closed = closed_ack(command_id, position, deals, share=volume, after=first.time)
    return [filled] if closed is None else [filled, closed]


def closed_ack(
    command_id: str,
    position: int,
    deals: list[Deal],
    *,
    share: Decimal | None = None,
    after: datetime | None = None,
) -> Ack | None:
    """The ``closed`` ack once the OUT deals of ``position`` cover its IN volume, else None.
    Price: the volume-weighted exits after our fill; volume: at most our ``share`` (a netting
    position may have held other fills too)."""
    mine = [d for d in deals if d.position == position]
    volume_in = sum((d.volume for d in mine if d.entry == DealEntry.IN), Decimal(0))
    outs = [d for d in mine if d.entry == DealEntry.OUT]
    volume_out = sum((d.volume for d in outs), Decimal(0))
    if not outs or (volume_in and volume_out < volume_in):
        return None
    later = [d for d in outs if after is None or d.time >= after] or outs
    price, volume = _vwap(later)
    volume = volume if share is None else min(volume, share)
    return Ack(command_id, "closed", position, price, volume, outs[-1].time)


async def recover(view: BrokerView, command_id: str, entry: Entry) -> list[Ack] | None:
    """Acks for what an interrupted (or unsure) ``open`` or ``close`` left at the broker; None
    when it left nothing (an open that never reached the broker: placing it now is safe)."""
    if entry.type == "close":
        return await _recover_close(view, command_id, entry)
    comment = entry.comment
    for order in view.orders:
        if _matches(comment, order):
            return [
                Ack(command_id, "placed", order.ticket, order.price, order.volume, order.placed_at)
            ]
    deals = await view.deals(EPOCH)
    tagged = [d for d in deals if comment and d.comment == comment]
    ours = order_deals(deals, tagged[0].order) if tagged else []
    if ours:
        return fill_acks(command_id, ours, deals)
    for pos in view.positions:  # the deal may lag behind the position
        if _matches(comment, pos):
            return [
                Ack(command_id, "filled", pos.ticket, pos.open_price, pos.volume, pos.opened_at)
            ]
    return None


async def _recover_close(view: BrokerView, command_id: str, entry: Entry) -> list[Ack] | None:
    """A close whose result was lost: its exit deal (by comment), or the position gone."""
    ticket = entry.ticket
    if ticket is None:
        return None
    deals = await view.deals(_since(entry))
    exits = [
        d
        for d in deals
        if d.position == ticket and d.entry == DealEntry.OUT and d.comment == entry.comment
    ]
    if exits:
        price, volume = _vwap(exits)
        return [Ack(command_id, "closed", ticket, price, volume, exits[-1].time)]
    if view.position(ticket) is None:
        closed = closed_ack(command_id, ticket, deals)
        if closed is not None:
            return [closed]
    return None


async def follow(view: BrokerView, command_id: str, entry: Entry) -> list[Ack]:
    """New acks for a followed open command (empty when nothing changed or not known yet)."""
    ticket = entry.ticket
    if ticket is None:
        return []
    if entry.status == "placed":
        return await _follow_placed(view, command_id, entry, ticket)
    if view.position(ticket) is not None:
        return []
    share = None if entry.volume is None else Decimal(entry.volume)
    closed = closed_ack(command_id, ticket, await view.deals(_since(entry)), share=share)
    return [] if closed is None else [closed]


async def _follow_placed(
    view: BrokerView, command_id: str, entry: Entry, ticket: int
) -> list[Ack]:
    if any(o.ticket == ticket for o in view.orders):
        return []
    deals = await view.deals(_since(entry))
    ours = order_deals(deals, ticket)
    if ours:
        return fill_acks(command_id, ours, deals)
    pos = next(
        (p for p in view.positions if p.ticket == ticket or _matches(entry.comment, p)), None
    )
    if pos is not None:  # hedging: the position shows before its deal reaches history
        return [Ack(command_id, "filled", pos.ticket, pos.open_price, pos.volume, pos.opened_at)]
    state = await view.broker.order_state(ticket)
    if state is None or state is OrderState.FILLED:
        return []  # the fill race: the deal is not in history yet
    return [Ack(command_id, "cancelled", ticket, time=datetime.now(UTC), error=GONE[state])]
