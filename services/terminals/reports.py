"""What terminals report: acknowledgements, account and positions, symbols, bars.

The EA API (ea/) calls one function per report kind (`on_account`, `on_symbols`,
`on_symbols_refused`, the assembly's `BarRouter.on_bars`; acks go through
`services.terminals.acks`): each stores what the terminal said and tells the user what matters
through the outbox. Fills become `Execution`
rows (slippage against the requested price, latency from approval or publication), account
reports become snapshots with a high-water mark that the drawdown guard watches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from core import bus, clock
from models.devices import AccountSnapshot, Command, Device, DeviceSymbol, Position
from models.users import Role, User
from services.copy import engine as copy_engine
from services.events import BarsReported
from services.terminals import live, quotes, risk_guard, symbol_map
from services.terminals.fills import on_ack  # re-exported: what follows an applied ack
from services.terminals.protocol import (
    AccountReport,
    BarIn,
    PositionIn,
    SymbolRefusal,
    SymbolReport,
)
from trading.candles import Bar
from trading.feeds import PushFeed

log = logging.getLogger(__name__)
_SIGNAL_COMMENT = re.compile(r"^sd:([0-9]{1,10})$")  # ASCII digits only: \d matches any script
_COMMAND_ID = re.compile(r"(cmd_[0-9a-f]{8,})")

__all__ = ["BarRouter", "on_account", "on_ack", "on_symbols", "on_symbols_refused"]


class DeviceLike(Protocol):
    """What the EA API hands these functions (device_auth.DeviceRef): the primary key."""

    @property
    def id(self) -> int: ...


# -- account and positions ----------------------------------------------------------------------
def drawdown_pct(high_water: Decimal, equity: Decimal) -> Decimal:
    """Drawdown from the high-water mark in percent: (high_water - equity) / high_water * 100,
    0 when there is no positive high-water mark; two decimals."""
    if high_water <= 0:
        return Decimal(0)
    return max(Decimal(0), (high_water - equity) / high_water * 100).quantize(Decimal("0.01"))


async def command_for_comment(device_pk: int, comment: str) -> str | None:
    """Our command id behind a broker comment: `sd:<signal id>` (the OPEN of that signal on
    this device) or a command id, possibly cut to MT5's 31 characters; None for others."""
    text = comment.strip()
    match = _SIGNAL_COMMENT.match(text)
    if match:
        key = copy_engine.open_key(device_pk, int(match.group(1)))
        ids = await Command.filter(dedupe_key=key).values_list("id", flat=True)
        return str(ids[0]) if ids else None
    match = _COMMAND_ID.search(text)
    if match:
        ids = await Command.filter(device_id=device_pk, id__startswith=match.group(1)).values_list(
            "id", flat=True
        )
        return str(ids[0]) if len(ids) == 1 else None
    return None


async def on_account(device: DeviceLike, report: AccountReport) -> AccountSnapshot:
    """Store the snapshot (high-water mark = max equity seen), replace the position list
    (parsing our command id from each comment, flagging orphans), run the drawdown guard and
    keep the reported broker; then hand the reported quotes to the alerts (`quotes`)."""
    async with copy_engine.transaction():
        previous = await AccountSnapshot.filter(device_id=device.id).order_by("-id").first()
        high = report.equity if previous is None else max(previous.high_water, report.equity)
        snapshot = await AccountSnapshot.create(
            device_id=device.id, balance=report.balance, equity=report.equity,
            margin=report.margin, currency=report.currency[:8], high_water=high,
            drawdown_pct=drawdown_pct(high, report.equity),
        )  # fmt: skip
        moved = await _replace_positions(device.id, report.positions)
        await risk_guard.check(device.id, snapshot)
        if moved or previous is None or _figures(previous) != _figures(snapshot):
            await live.announce_device("positions", device.id)  # heard after the commit
        row = await _store_broker(device.id, report.broker)
    await quotes.on_quotes(row, report.quotes)
    return snapshot


async def _store_broker(device_pk: int, broker: str | None) -> Device:
    """The device, its broker (the account's company) written only when it changed."""
    device = await Device.get(id=device_pk)
    if broker is not None and device.broker != broker:
        device.broker = broker
        await device.save(update_fields=["broker"])
    return device


def _figures(snapshot: AccountSnapshot) -> tuple[Decimal, Decimal, Decimal, str]:
    """What an open Positions page shows of a snapshot (the same again: nothing to tell)."""
    return snapshot.balance, snapshot.equity, snapshot.margin, snapshot.currency


async def _replace_positions(device_pk: int, positions: Sequence[PositionIn]) -> bool:
    """Store the reported positions; whether anything changed (opened, closed, moved)."""
    existing = {p.ticket: p for p in await Position.filter(device_id=device_pk)}
    reported = {p.ticket for p in positions}
    gone = [ticket for ticket in existing if ticket not in reported]
    changed = bool(gone)
    if gone:
        await Position.filter(device_id=device_pk, ticket__in=gone).delete()
    for p in positions:
        row = existing.get(p.ticket)
        if row is not None and row.comment == p.comment[:64]:
            command_id = row.command_id
        else:
            command_id = await command_for_comment(device_pk, p.comment)
        values: dict[str, Any] = {
            "symbol": p.symbol[:32], "side": p.side, "volume": p.volume,
            "open_price": p.open_price, "sl": p.sl, "tp": p.tp, "profit": p.profit,
            "comment": p.comment[:64], "command_id": command_id, "orphan": command_id is None,
        }  # fmt: skip
        if row is None:
            await Position.create(device_id=device_pk, ticket=p.ticket, **values)
            changed = True
        elif any(getattr(row, k) != v for k, v in values.items()):  # most reports change P&L
            await Position.filter(id=row.id).update(**values, updated_at=clock.now())
            changed = True
    return changed


# -- symbols ------------------------------------------------------------------------------------
async def on_symbols(device: DeviceLike, reports: Sequence[SymbolReport]) -> int:
    """Upsert the terminal's symbols with their automatic mapping (the device's override
    wins); returns how many rows were written. Symbols not reported are kept. A spec outside
    sane ranges is recorded as refused (never its numbers), as `on_symbols_refused` does."""
    row_device = await Device.get(id=device.id)
    overrides = symbol_map.overrides_of(row_device)
    existing = {r.name: r for r in await DeviceSymbol.filter(device_id=device.id)}
    written = 0
    for report in reports:
        ours = symbol_map.map_name(report.name, overrides)
        spec = symbol_map.spec_json(report)
        try:
            symbol_map.check_report(report)
        except ValueError as exc:  # zero tick size, a tick of 1e-40...: never size with it
            field = str(getattr(exc, "field", "spec"))
            spec = symbol_map.refused_json(field, str(getattr(exc, "reason", exc)))
        row = existing.get(report.name)
        if row is None:
            await DeviceSymbol.create(
                device_id=device.id, name=report.name, symbol=ours, spec=spec
            )
        elif row.symbol != ours or row.spec != spec:
            row.symbol, row.spec = ours, spec
            await row.save(update_fields=["symbol", "spec", "updated_at"])
        else:
            continue
        written += 1
    return written


async def on_symbols_refused(device: DeviceLike, refusals: Sequence[SymbolRefusal]) -> int:
    """Record the symbols the EA API refused (their numbers are never stored): until the
    terminal reports a sane spec, signals on them skip it with the reason (`bad_spec`)."""
    row_device = await Device.get(id=device.id)
    overrides = symbol_map.overrides_of(row_device)
    written = 0
    for refusal in refusals:
        if refusal.name is None:
            continue
        spec = symbol_map.refused_json(refusal.field, refusal.detail)
        ours = symbol_map.map_name(refusal.name, overrides)
        await DeviceSymbol.update_or_create(
            defaults={"symbol": ours, "spec": spec}, device_id=device.id, name=refusal.name
        )
        written += 1
    return written


# -- bars ---------------------------------------------------------------------------------------
class BarRouter:
    """Owners' EA bars into the trading loop's feed (MARKET_DATA=ea), for its `symbols`.

    Bars this replica accepts are published (`BarsReported`): the replica bus hands them to
    the replica running the trading loop, where `relayed` puts them into its feed.
    """

    def __init__(self, feed: PushFeed | None, symbols: Sequence[str] = ()) -> None:
        self._feed = feed
        self._symbols = {symbol_map.canonical(s): s for s in symbols}  # canonical -> loop's
        self._own: BarsReported | None = None  # being published by us: already in the feed

    def close(self) -> None:
        """Stop feeding (shutting down)."""
        self._feed = None

    def relayed(self, event: BarsReported) -> int:
        """Bars another replica accepted from an owner's terminal: into this replica's feed."""
        feed = self._feed
        if event is self._own or feed is None or event.symbol not in self._symbols.values():
            return 0
        return feed.push(event.symbol, event.bars)

    async def on_bars(self, ref: DeviceLike, bars: Sequence[BarIn]) -> int:
        """Closed bars from an OWNER's terminal feed the trading loop when it runs on EA bars;
        returns how many bars the feed accepted (0 when not applicable)."""
        feed = self._feed
        if feed is None or not bars:
            return 0
        device = await Device.get(id=ref.id)
        owner = await User.filter(id=device.user_id, role=Role.OWNER).exists()  # type: ignore[attr-defined]
        if not owner:
            return 0
        accepted = 0
        for symbol, items in (await self._by_symbol(device, bars)).items():
            accepted += feed.push(symbol, items)
            self._own = BarsReported(symbol, tuple(items))
            try:
                bus.publish(self._own)
            finally:
                self._own = None
        return accepted

    async def _by_symbol(self, device: Device, bars: Sequence[BarIn]) -> dict[str, list[Bar]]:
        names = await symbol_map.ours_by_name(device, {b.symbol for b in bars})
        by_symbol: dict[str, list[Bar]] = {}
        for b in bars:
            ours = names[b.symbol]
            target = self._symbols.get(symbol_map.canonical(ours)) if ours else None
            if target is None:
                continue
            try:
                bar = Bar(b.time, b.open, b.high, b.low, b.close, b.volume)
            except ValueError as exc:
                log.warning(
                    "bad bar from terminal", extra={"device": device.device_id, "error": str(exc)}
                )
                continue
            by_symbol.setdefault(target, []).append(bar)
        return by_symbol
