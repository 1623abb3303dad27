"""Checking a ledger without trusting whoever stored or served it: pure code over entries as
`GET /ledger` serves them (the local database gives the same shape).

Feed the entries in order to a `ChainCheck`; it stops at the first broken link:
- seq numbers run 1, 2, 3, ... without gaps (a deleted or reordered entry shows here);
- each `prev` is the previous entry's hash (64 zeros for seq 1) and each `hash` the SHA-256
  of the entry's canonical form (services.ledger.canonical): an edited event shows here;
- the entry's `signal` and `kind` are its event's;
- a live entry (published, revised, filled) shows a commitment and no levels; the entry that
  ends a signal reveals its salt and, for every earlier commitment of that signal in order,
  levels that hash to it; its final levels are the last committed ones; nothing follows it;
- each published head (seq, hash), e.g. the channel's posts, is an entry of the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.ledger.canonical import GENESIS, commitment, entry_hash

LIVE_KINDS = frozenset({"published", "revised", "filled"})
ENDED_KINDS = frozenset({"expired", "replaced", "cancelled", "closed"})
SAME_LEVELS = ("entry", "stop", "take_profit")


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    signal: int
    kind: str
    event: dict[str, Any]
    prev: str
    hash: str

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """An entry of `GET /ledger`; ValueError when its shape is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("event"), dict):
            raise ValueError("an entry must be an object with an event object")
        try:
            seq, signal = data["seq"], data["signal"]
            kind, prev, digest = data["kind"], data["prev"], data["hash"]
        except KeyError as missing:
            msg = f"an entry lacks {missing}"
            raise ValueError(msg) from None
        if not (_is_int(seq) and _is_int(signal)):
            raise ValueError("seq and signal must be whole numbers")
        if not all(isinstance(v, str) for v in (kind, prev, digest)):
            raise ValueError("kind, prev and hash must be strings")
        return cls(seq, signal, kind, data["event"], prev, digest)


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Broken:
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    head: Head | None
    revealed: int  # commitments checked against their reveal
    heads_checked: int
    broken: Broken | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Signal:
    committed: list[tuple[int, str]] = field(default_factory=list)  # (seq, commitment)
    ended_at: int | None = None


class ChainCheck:
    """Incremental: `feed` each entry in order (False once broken), then `verdict`."""

    def __init__(self, heads: Iterable[Head] = ()) -> None:
        self.heads = {h.seq: h.hash for h in heads}
        self.count = 0
        self.last: Head | None = None
        self.revealed = 0
        self.heads_checked = 0
        self.broken: Broken | None = None
        self._signals: dict[int, _Signal] = {}

    def feed(self, entry: Entry) -> bool:
        if self.broken is None:
            reason = self._check(entry)
            if reason is not None:
                self.broken = Broken(entry.seq, reason)
            else:
                self.count += 1
                self.last = Head(entry.seq, entry.hash)
        return self.broken is None

    def verdict(self) -> Verdict:
        if self.broken is None:
            top = self.last.seq if self.last else 0
            missing = sorted(s for s in self.heads if s > top)
            if missing:
                reason = f"published head {missing[0]} is not in the chain (ends at {top})"
                self.broken = Broken(missing[0], reason)
        return Verdict(self.count, self.last, self.revealed, self.heads_checked, self.broken)

    def _check(self, e: Entry) -> str | None:
        expected_seq = 1 if self.last is None else self.last.seq + 1
        if e.seq != expected_seq:
            return f"seq {e.seq} where {expected_seq} was expected (an entry missing or moved)"
        expected_prev = GENESIS if self.last is None else self.last.hash
        if e.prev != expected_prev:
            return "prev is not the previous entry's hash"
        if entry_hash(e.seq, e.prev, e.event) != e.hash:
            return "hash does not match the entry's content"
        if e.event.get("signal") != e.signal or e.event.get("kind") != e.kind:
            return "signal or kind differs from the event's"
        if e.seq in self.heads:
            self.heads_checked += 1
            if self.heads[e.seq] != e.hash:
                return "a published head names another hash for this seq"
        return self._check_levels(e)

    def _check_levels(self, e: Entry) -> str | None:
        state = self._signals.setdefault(e.signal, _Signal())
        if state.ended_at is not None:
            return f"signal {e.signal} already ended at seq {state.ended_at}"
        if e.kind in LIVE_KINDS:
            value = e.event.get("commitment")
            if not isinstance(value, str) or "levels" in e.event:
                return "a live entry must show a commitment and no levels"
            state.committed.append((e.seq, value))
            return None
        if e.kind not in ENDED_KINDS:
            return f"unknown kind {e.kind!r}"
        state.ended_at = e.seq
        return self._check_reveal(e, state)

    def _check_reveal(self, e: Entry, state: _Signal) -> str | None:
        reveal, final = e.event.get("reveal"), e.event.get("levels")
        if not isinstance(reveal, dict) or not isinstance(final, dict):
            return "an ending entry must show its levels and a reveal"
        items, salt = reveal.get("levels"), reveal.get("salt")
        if not isinstance(items, list) or len(items) != len(state.committed):
            return "the reveal does not list every commitment of the signal"
        if items and not isinstance(salt, str):
            return "the reveal has no salt"
        for item, (seq, committed) in zip(items, state.committed, strict=True):
            if not isinstance(item, dict) or item.get("seq") != seq:
                return f"the reveal lists another entry where seq {seq} was expected"
            levels = item.get("levels")
            if not isinstance(levels, dict) or commitment(levels, str(salt), seq) != committed:
                return f"revealed levels do not match the commitment of seq {seq}"
            if "fill_price" in levels and levels["fill_price"] != final.get("fill_price"):
                return f"the final fill price is not the one committed at seq {seq}"
            self.revealed += 1
        if items and any(items[-1]["levels"].get(k) != final.get(k) for k in SAME_LEVELS):
            return "the final levels are not the last committed ones"
        return None


def check(entries: Iterable[Entry], heads: Iterable[Head] = ()) -> Verdict:
    """The whole chain at once (see `ChainCheck`)."""
    checker = ChainCheck(heads)
    for entry in entries:
        if not checker.feed(entry):
            break
    return checker.verdict()
