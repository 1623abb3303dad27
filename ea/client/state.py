"""The EA's memory of executed commands: one JSON file, rewritten atomically on every change.

Exactly-once rests on the write ORDER: an ``open`` is recorded as ``executing`` (with the order
comment it will carry) and flushed to disk BEFORE the order is sent; the result is recorded as
``done`` before its ack is sent. A crash between the two leaves ``executing``: on restart the
EA looks for an order or position with that comment at the broker and acks what it finds
instead of placing again. The same holds while a result is *unsure* (the broker answered a
timeout or lost the connection: the order may exist): the entry stays ``executing`` with
``unsure_s`` set and is never sent again; it is settled from what the broker shows, or acked
``failed`` once nothing appeared for a while. Acks not yet confirmed by the server are kept
and re-sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ea.client.wire import Ack

FORMAT_VERSION = 1
EXECUTING, DONE = "executing", "done"
FOLLOWED = frozenset({"placed", "filled"})  # open commands the EA keeps watching
MAX_ENTRIES = 5000


class StateFileError(RuntimeError):
    """The state file exists but cannot be read: refuse to trade rather than risk doubles."""


@dataclass(slots=True)
class Entry:
    """What the EA knows about one command."""

    state: str  # executing | done
    type: str
    comment: str = ""
    symbol: str = ""
    signal_id: int | None = None
    ticket: int | None = None
    status: str | None = None  # the latest status acked (or to be acked)
    since_s: int | None = None  # broker time of placement: where history lookups start
    volume: str | None = None  # our filled volume (a netting position may hold more)
    unsure_s: float | None = None  # when a result became unknown (see the module docstring)
    acks: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0  # acks[:sent] were confirmed by the server
    updated_s: float = 0.0

    @property
    def unsent(self) -> list[Ack]:
        return [Ack.from_json(a) for a in self.acks[self.sent :]]


class StateFile:
    """``{"version": 1, "commands": {id: Entry}}`` at ``path``; every change is fsynced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, Entry] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            msg = f"cannot read the EA state file {self.path}: {exc}; fix or move it away"
            raise StateFileError(msg) from None
        if not isinstance(raw, dict) or raw.get("version") != FORMAT_VERSION:
            msg = f"{self.path} is not an EA state file (version {FORMAT_VERSION})"
            raise StateFileError(msg)
        self.entries = {cid: Entry(**data) for cid, data in raw.get("commands", {}).items()}

    def _write(self) -> None:
        """Write a temporary file beside the target, fsync it, then rename over the target."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "version": FORMAT_VERSION,
            "commands": {cid: asdict(e) for cid, e in self.entries.items()},
        }
        fd, tmp = tempfile.mkstemp(prefix=".ea-state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # persist the rename itself (POSIX)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def get(self, command_id: str) -> Entry | None:
        return self.entries.get(command_id)

    def begin(
        self,
        command_id: str,
        kind: str,
        *,
        comment: str,
        symbol: str,
        signal_id: int | None,
        ticket: int | None = None,
    ) -> Entry:
        """Mark ``executing`` and flush: call BEFORE anything is sent to the broker."""
        entry = Entry(
            EXECUTING, kind, comment, symbol, signal_id, ticket, updated_s=time.time()
        )  # fmt: skip
        self.entries[command_id] = entry
        self._prune()
        self._write()
        return entry

    def record(self, ack: Ack, *, kind: str = "", since_s: int | None = None) -> Entry:
        """Mark the command ``done`` with ``ack`` queued for sending; flushed before it goes."""
        entry = self.entries.get(ack.command_id)
        if entry is None:
            entry = self.entries[ack.command_id] = Entry(DONE, kind)
        entry.state = DONE
        entry.status = ack.status
        entry.unsure_s = None
        if ack.ticket is not None:
            entry.ticket = ack.ticket
        if ack.status == "filled" and ack.volume is not None and entry.type == "open":
            entry.volume = str(ack.volume)
        if since_s is not None:
            entry.since_s = since_s
        entry.acks.append(ack.to_json())
        entry.updated_s = time.time()
        self._write()
        return entry

    def forget(self, command_id: str) -> None:
        """Drop an ``executing`` entry whose command never reached the broker (AutoTrading
        off, no connection before sending): the server redelivers it and it runs then."""
        entry = self.entries.get(command_id)
        if entry is not None and entry.state == EXECUTING and not entry.acks:
            del self.entries[command_id]
            self._write()

    def mark_unsure(self, command_id: str) -> Entry:
        """The broker did not tell whether the request was carried out: keep ``executing``
        (never send it again) until the broker shows the outcome."""
        entry = self.entries[command_id]
        if entry.unsure_s is None:
            entry.unsure_s = time.time()
            entry.updated_s = entry.unsure_s
            self._write()
        return entry

    def unsure(self) -> list[tuple[str, Entry]]:
        return [
            (cid, e)
            for cid, e in self.entries.items()
            if e.state == EXECUTING and e.unsure_s is not None
        ]

    def mark_sent(self, command_id: str, count: int) -> None:
        """The first ``count`` acks of the command are confirmed by the server."""
        entry = self.entries[command_id]
        if count > entry.sent:
            entry.sent = min(count, len(entry.acks))
            self._write()

    def resend_all(self, command_id: str) -> None:
        """The server redelivered a command we finished: send its acks again, in order."""
        entry = self.entries[command_id]
        if entry.sent:
            entry.sent = 0
            self._write()

    def with_unsent(self) -> list[tuple[str, Entry]]:
        return [(cid, e) for cid, e in self.entries.items() if e.sent < len(e.acks)]

    def executing(self) -> list[str]:
        return [cid for cid, e in self.entries.items() if e.state == EXECUTING]

    def followed(self) -> list[tuple[str, Entry]]:
        """Open commands whose order or position is still live at the broker."""
        return [
            (cid, e)
            for cid, e in self.entries.items()
            if e.type == "open" and e.state == DONE and e.status in FOLLOWED
        ]

    def ticket_for_signal(self, signal_id: int | None) -> int | None:
        """The ticket of the newest open command for ``signal_id`` (commands without a ticket)."""
        found = self.open_for_signal(signal_id)
        return None if found is None else found[1].ticket

    def open_for_signal(self, signal_id: int | None) -> tuple[str, Entry] | None:
        """The newest open command for ``signal_id`` that has a ticket, with its id."""
        if signal_id is None:
            return None
        candidates = [
            (e.updated_s, cid)
            for cid, e in self.entries.items()
            if e.type == "open" and e.signal_id == signal_id and e.ticket is not None
        ]
        if not candidates:
            return None
        command_id = max(candidates)[1]
        return command_id, self.entries[command_id]

    def _prune(self) -> None:
        """Forget the oldest finished, fully acked commands beyond :data:`MAX_ENTRIES`."""
        if len(self.entries) <= MAX_ENTRIES:
            return
        finished = sorted(
            (e.updated_s, cid)
            for cid, e in self.entries.items()
            if e.state == DONE and e.status not in FOLLOWED and e.sent >= len(e.acks)
        )
        for _, cid in finished[: len(self.entries) - MAX_ENTRIES]:
            del self.entries[cid]
