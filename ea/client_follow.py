"""What became of our orders: fills, expiries and exits, read back from the broker.

Two jobs, both read-only at the broker:

* :func:`recover` after a crash: a command left ``executing`` is looked up by its order
  comment (orders, positions, then deals); what is found is acked, nothing is placed twice.
* :func:`follow` for ``placed``/``filled`` opens: a pending order that became a position is
  acked ``filled``, one that vanished without a deal ``cancelled`` (expired or deleted), a
  position that is gone ``closed`` with the volume-weighted exit price
  (the server computes the P&L from the prices and the terminal's tick value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ea.client_state import Entry
from ea.client_wire import Ack
from trading.brokers.base import Broker, Deal, DealEntry, Order, Position

HISTORY_MARGIN = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def _matches(comment: str, item: Order | Position) -> bool:
    return bool(comment) and comment in (item.comment, item.client_id)


def _since(entry: Entry) -> datetime:
    if entry.since_s is None:
        return EPOCH
    return datetime.fromtimestamp(entry.since_s, tz=UTC) - HISTORY_MARGIN


def _filled_from_deals(command_id: str, deals: list[Deal]) -> list[Ack]:
    """``filled`` (and ``closed`` when the exits add up to the entry) for one position."""
    ins = [d for d in deals if d.entry == DealEntry.IN]
    if not ins:
        return []
    first = ins[0]
    acks = [Ack(command_id, "filled", first.position, first.price, first.volume, first.time)]
    closed = _closed(command_id, first.position, deals)
    return acks if closed is None else [*acks, closed]


def _closed(command_id: str, position: int, deals: list[Deal]) -> Ack | None:
    """The ``closed`` ack once the OUT deals of ``position`` cover its IN volume, else None."""
    mine = [d for d in deals if d.position == position]
    volume_in = sum((d.volume for d in mine if d.entry == DealEntry.IN), Decimal(0))
    outs = [d for d in mine if d.entry == DealEntry.OUT]
    volume_out = sum((d.volume for d in outs), Decimal(0))
    if not outs or (volume_in and volume_out < volume_in):
        return None
    price = sum((d.price * d.volume for d in outs), Decimal(0)) / volume_out
    return Ack(command_id, "closed", position, price, volume_out, outs[-1].time)


async def recover(view: BrokerView, command_id: str, entry: Entry) -> list[Ack] | None:
    """Acks for what an interrupted ``open`` left at the broker; None when it left nothing
    (the order never reached the broker: placing it now is safe)."""
    comment = entry.comment
    for order in view.orders:
        if _matches(comment, order):
            return [
                Ack(command_id, "placed", order.ticket, order.price, order.volume, order.placed_at)
            ]
    for pos in view.positions:
        if _matches(comment, pos):
            return [
                Ack(command_id, "filled", pos.ticket, pos.open_price, pos.volume, pos.opened_at)
            ]
    deals = await view.deals(EPOCH)
    opened = [d for d in deals if d.entry == DealEntry.IN and d.comment and d.comment == comment]
    if not opened:
        return None
    position = opened[0].position
    return _filled_from_deals(command_id, [d for d in deals if d.position == position]) or None


async def follow(view: BrokerView, command_id: str, entry: Entry) -> list[Ack]:
    """New acks for a followed open command (empty when nothing changed)."""
    ticket = entry.ticket
    if ticket is None:
        return []
    if entry.status == "placed":
        if any(o.ticket == ticket for o in view.orders):
            return []
        pos = next(
            (p for p in view.positions if p.ticket == ticket or _matches(entry.comment, p)), None
        )
        if pos is not None:
            return [
                Ack(command_id, "filled", pos.ticket, pos.open_price, pos.volume, pos.opened_at)
            ]
        deals = await view.deals(_since(entry))
        mine = [d for d in deals if ticket in (d.order, d.position)]
        if mine:
            return _filled_from_deals(command_id, mine)
        gone = "the pending order expired or was deleted at the broker"
        return [Ack(command_id, "cancelled", ticket, time=datetime.now(UTC), error=gone)]
    if any(p.ticket == ticket for p in view.positions):
        return []
    closed = _closed(command_id, ticket, await view.deals(_since(entry)))
    return [] if closed is None else [closed]
