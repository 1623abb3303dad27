"""Terminals' bid/ask quotes (sent with the account report) for the price alerts.

Each broker symbol is mapped back to ours as bars are (`symbol_map.ours_by_name`: the
reported row's mapping, else the device's override or the automatic mapping); a symbol that
maps to none of our symbols is dropped. Only the owner's terminals feed the alerts, as only
their bars feed the trading loop: any other terminal is run by a customer, who could sign any
price and fire everyone's alerts with it.

The quotes are published as one `QuotesReported` (latest per symbol); the replica bus carries
it to the scheduler leader, whose alert watch evaluates it (`jobs.alerts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from core import bus
from models.devices import Device
from models.users import Role, User
from services.events import Quote, QuotesReported
from services.terminals import symbol_map
from services.terminals.protocol import QuoteIn
from trading.symbols import known_symbols


def ours(mapped: dict[str, str | None], quotes: Sequence[QuoteIn]) -> list[Quote]:
    """The quotes on our canonical symbols, the last one of each symbol (a report naming a
    symbol twice, or two broker names of one symbol: the later wins); others dropped."""
    known = {symbol_map.canonical(s) for s in known_symbols()}
    latest: dict[str, Quote] = {}
    for q in quotes:
        name = mapped.get(q.symbol)
        symbol = symbol_map.canonical(name) if name else None
        if symbol in known:
            latest.pop(symbol, None)
            latest[symbol] = Quote(symbol, q.bid, q.ask)
    return list(latest.values())


async def on_quotes(device: Device, quotes: Sequence[QuoteIn]) -> list[Quote]:
    """Publish the quotes of the owner's terminal `device` mapped to our symbols; returns
    what was published (nothing for another user's terminal)."""
    if not quotes:
        return []
    owner = await User.filter(id=device.user_id, role=Role.OWNER).exists()  # type: ignore[attr-defined]
    if not owner:
        return []
    mapped = await symbol_map.ours_by_name(device, {q.symbol for q in quotes})
    found = ours(mapped, quotes)
    if found:
        bus.publish(QuotesReported(tuple(found)))
    return found
