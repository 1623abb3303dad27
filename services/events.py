"""The app's events: what services publish on the bus (`core.bus`) and who usually hears them.

The assembly (`bot/app.py`) subscribes the listeners; the replica events also travel between
replicas over PostgreSQL (`core.bus_pg`), in the JSON shapes below (PostgreSQL's NOTIFY
payloads stay under 8,000 bytes, so big events are sent in chunks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self

from core.bus import Event, ReplicaEvent
from trading.candles import Bar, to_unix_s

WAKE_CHUNK = 500  # device ids per NOTIFY
BAR_CHUNK = 50  # bars per NOTIFY (about 90 bytes each)
QUOTE_CHUNK = 100  # quotes per NOTIFY (under 60 bytes each)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class CommandsPending(ReplicaEvent):
    """Commands became pending (committed) for these devices: their long polls answer now.
    Also published for a revoked device, so its open polls end."""

    topic: ClassVar[str] = "wake"
    device_ids: tuple[int, ...]

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        ids = sorted({pk for event in events for pk in event.device_ids})
        return [cls(tuple(ids))] if ids else []

    def to_wire(self) -> list[dict[str, Any]]:
        pks = list(self.device_ids)
        return [{"wake": pks[i : i + WAKE_CHUNK]} for i in range(0, len(pks), WAKE_CHUNK)]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        pks = data.get("wake")
        if not isinstance(pks, list):
            return None
        return cls(tuple(pk for pk in pks if _is_int(pk)))


@dataclass(frozen=True, slots=True)
class DeviceRevoked(ReplicaEvent):
    """A device's revocation committed: refuse it from now on (credentials caches)."""

    topic: ClassVar[str] = "revoked"
    public_id: str

    def to_wire(self) -> list[dict[str, Any]]:
        return [{"revoked": self.public_id}]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        public_id = data.get("revoked")
        return cls(public_id) if isinstance(public_id, str) else None


@dataclass(frozen=True, slots=True)
class RevocationPending(Event):
    """A device's revocation is about to commit (`failed`: it did not): refuse the device here
    at once, before the commit, so no request slips through meanwhile."""

    public_id: str
    failed: bool = False


@dataclass(frozen=True, slots=True)
class DeviceChanged(Event):
    """A device's row changed (mode, encryption, a new device): cached credentials are stale."""

    public_id: str


@dataclass(frozen=True, slots=True)
class BarsReported(ReplicaEvent):
    """Closed bars an owner's terminal reported for `symbol` (the trading loop's name), accepted
    by one replica: the replica running the trading loop feeds them to it."""

    topic: ClassVar[str] = "bars"
    symbol: str
    bars: tuple[Bar, ...]

    def to_wire(self) -> list[dict[str, Any]]:
        rows = [[to_unix_s(b.time), b.open, b.high, b.low, b.close, b.volume] for b in self.bars]
        return [
            {"symbol": self.symbol, "bars": rows[i : i + BAR_CHUNK]}
            for i in range(0, len(rows), BAR_CHUNK)
        ]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        rows, symbol = data.get("bars"), data.get("symbol")
        if not isinstance(rows, list) or not isinstance(symbol, str):
            return None
        try:
            bars = tuple(
                Bar(datetime.fromtimestamp(t, UTC), o, h, low, c, v) for t, o, h, low, c, v in rows
            )
        except (TypeError, ValueError):
            return None
        return cls(symbol, bars)


@dataclass(frozen=True, slots=True)
class Quote:
    """A bid/ask of one of our symbols (canonical name), as a terminal reported it."""

    symbol: str
    bid: Decimal
    ask: Decimal


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


@dataclass(frozen=True, slots=True)
class QuotesReported(ReplicaEvent):
    """Bid/ask quotes a terminal reported with its account (mapped to our symbols), accepted by
    one replica: the replica running the alert watch evaluates them. Only the latest quote of
    a symbol matters, so merging keeps one per symbol (the newest)."""

    topic: ClassVar[str] = "quotes"
    quotes: tuple[Quote, ...]

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        latest = {q.symbol: q for event in events for q in event.quotes}
        return [cls(tuple(latest.values()))] if latest else []

    def to_wire(self) -> list[dict[str, Any]]:
        rows = [[q.symbol, str(q.bid), str(q.ask)] for q in self.quotes]
        return [{"quotes": rows[i : i + QUOTE_CHUNK]} for i in range(0, len(rows), QUOTE_CHUNK)]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        rows = data.get("quotes")
        if not isinstance(rows, list):
            return None
        quotes = []
        for row in rows:
            if not isinstance(row, list) or len(row) != 3 or not isinstance(row[0], str):
                return None
            bid, ask = _decimal(row[1]), _decimal(row[2])
            if bid is None or ask is None or bid > ask:
                return None
            quotes.append(Quote(row[0], bid, ask))
        return cls(tuple(quotes))


@dataclass(frozen=True, slots=True)
class UserChanged(ReplicaEvent):
    """A user's role, status or language changed (`telegram_id`), or, with None, changes may
    have been missed (the bridge reconnected): cached users are stale. On PostgreSQL the
    database announces it itself (a trigger on `users`, migrations 0006 and 0008)."""

    topic: ClassVar[str] = "user"
    telegram_id: int | None

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        """One per user (None, "all are stale", once, first)."""
        ids = dict.fromkeys(e.telegram_id for e in events)
        if None in ids:
            return [cls(None)]
        return [cls(tid) for tid in ids]

    def to_wire(self) -> list[dict[str, Any]]:
        return [] if self.telegram_id is None else [{"user": self.telegram_id}]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        user = data.get("user")
        return cls(user) if _is_int(user) else None


@dataclass(frozen=True, slots=True)
class AccessChanged(Event):
    """What a user paid for changed (payment, renewal state, refund, grant, expiry), committed:
    the replica that made the change refreshes what depends on it outside the database (the
    chat's command menu). Caches hear `UserChanged`, published alongside."""

    telegram_id: int

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        return [cls(tid) for tid in dict.fromkeys(e.telegram_id for e in events)]


@dataclass(frozen=True, slots=True)
class OutboxChanged(Event):
    """Notifications were queued (committed): the sender looks now, not at its next poll."""

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        return list(events[:1])


LIVE_KINDS = frozenset({"signal", "decision", "terminal", "positions", "access", "alert"})
LIVE_CHUNK = 500  # users per NOTIFY


@dataclass(frozen=True, slots=True)
class LiveUpdate(ReplicaEvent):
    """Something an open Mini App shows changed, committed: `kind` (one of `LIVE_KINDS`) names
    what, `key` which one (a signal id, a device id), `users` whose pages it concerns (Telegram
    ids; empty: everyone's). Every replica's Mini App stream tells those pages, and they fetch
    the object again through the API (which checks who may see what)."""

    topic: ClassVar[str] = "live"
    kind: str
    key: int
    users: tuple[int, ...] = ()

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        return list(dict.fromkeys(events))

    def to_wire(self) -> list[dict[str, Any]]:
        head = {"live": self.kind, "key": self.key}
        users = list(self.users)
        if not users:
            return [{**head, "users": []}]
        return [
            {**head, "users": users[i : i + LIVE_CHUNK]} for i in range(0, len(users), LIVE_CHUNK)
        ]

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        kind, key, users = data.get("live"), data.get("key"), data.get("users")
        if kind not in LIVE_KINDS or not isinstance(key, int) or not isinstance(users, list):
            return None
        ids = tuple(u for u in users if _is_int(u))
        return cls(kind, key, ids) if len(ids) == len(users) else None


REPLICA_EVENTS: tuple[type[ReplicaEvent], ...] = (
    UserChanged, DeviceRevoked, BarsReported, CommandsPending, LiveUpdate, QuotesReported,
)  # fmt: skip
