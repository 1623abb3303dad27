"""A terminal's journal: the commands an EA received and the acks the server took, as they
happen, in words for a person (the sandbox page's terminal panel), long-pollable.

:class:`TerminalJournal` is a :class:`ClientObserver`; it keeps the last
``capacity`` entries in memory and never blocks the EA.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from ea.client.wire import Command


class ClientObserver(Protocol):
    """Watches an :class:`ea.client.terminal.EAClient` work; called in the client's task, so it must
    not block. Its failures are logged, never the EA's."""

    def command(self, cmd: Command) -> None:
        """A new command arrived and is about to be executed."""

    def ack(self, ack: dict[str, Any], *, accepted: bool) -> None:
        """The server took (``accepted``) or refused an ack, in its wire form."""


def _num(value: Decimal | float | None) -> str:
    """A price or volume as sent (Decimal keeps its digits; floats print their shortest form)."""
    if value is None:
        return "-"
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def describe_command(cmd: Command) -> str:
    """ "open SELL EURUSD limit 0.12 @ 1.08500 SL 1.09000 TP 1.07500", "close #1001", ..."""
    if cmd.type == "open":
        parts = [f"open {cmd.side.upper()} {cmd.symbol} {cmd.order_type}"]
        if cmd.volume is not None:
            parts.append(f"{_num(cmd.volume)} lot")
        if cmd.price is not None:
            parts.append(f"@ {_num(cmd.price)}")
        parts.append(f"SL {_num(cmd.sl)} TP {_num(cmd.tp)}")
        return " ".join(parts)
    target = f"#{cmd.ticket}" if cmd.ticket else f"signal {cmd.signal_id}"
    if cmd.type == "modify":
        return f"modify {cmd.symbol} {target}: SL {_num(cmd.sl)} TP {_num(cmd.tp)}"
    return f"{cmd.type} {cmd.symbol} {target}".replace("  ", " ")


def describe_ack(ack: dict[str, Any]) -> str:
    """ "placed #1001", "filled 0.12 @ 1.08490 #1001", "rejected: market closed", ..."""
    parts = [str(ack.get("status", "?"))]
    if ack.get("volume") is not None and ack.get("price") is not None:
        parts.append(f"{_num(ack['volume'])} @ {_num(ack['price'])}")
    elif ack.get("price") is not None:
        parts.append(f"@ {_num(ack['price'])}")
    if ack.get("ticket"):
        parts.append(f"#{ack['ticket']}")
    text = " ".join(parts)
    return f"{text}: {ack['error']}" if ack.get("error") else text


class TerminalJournal:
    """The last ``capacity`` events; ``events_after(seq)`` and its long poll ``wait_after``."""

    def __init__(
        self, capacity: int = 500, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._clock = clock
        self.seq = 0
        self._changed = asyncio.Event()

    # -- ClientObserver ----------------------------------------------------------------------

    def command(self, cmd: Command) -> None:
        self._add(
            "command", cmd.id, describe_command(cmd), type=cmd.type, symbol=cmd.symbol,
            signal_id=cmd.signal_id,
        )  # fmt: skip

    def ack(self, ack: dict[str, Any], *, accepted: bool) -> None:
        text = describe_ack(ack) if accepted else f"{describe_ack(ack)} (refused by the server)"
        self._add("ack", str(ack.get("command_id", "")), text, status=ack.get("status"))

    # -- reading -----------------------------------------------------------------------------

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        return [event for event in self._events if event["seq"] > seq]

    async def wait_after(self, seq: int, timeout_s: float) -> list[dict[str, Any]]:
        """Events after ``seq``, waiting up to ``timeout_s`` for the first one."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.seq <= seq:
                    await self._changed.wait()
        return self.events_after(seq)

    def _add(self, kind: str, command_id: str, text: str, **fields: Any) -> None:
        self.seq += 1
        self._events.append(
            {"seq": self.seq, "time": self._clock().isoformat(timespec="seconds"),
             "kind": kind, "command_id": command_id, "text": text, **fields}
        )  # fmt: skip
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
