"""The EA command state machine: which acknowledgement may follow which status.

An ack repeating the current status is idempotent (same answer again); a move the table does
not allow is a conflict (HTTP 409). Terminal states accept nothing new.
"""

from __future__ import annotations

from enum import StrEnum

from models.devices import CommandStatus, CommandType

C = CommandStatus

TERMINAL: frozenset[CommandStatus] = frozenset(
    {C.CLOSED, C.CANCELLED, C.REJECTED, C.FAILED, C.EXPIRED}
)
_OPEN_FLOW: dict[CommandStatus, frozenset[CommandStatus]] = {
    C.PENDING: frozenset({C.ACCEPTED, C.PLACED, C.FILLED, C.REJECTED, C.FAILED}),
    C.ACCEPTED: frozenset({C.PLACED, C.FILLED, C.REJECTED, C.FAILED}),
    C.PLACED: frozenset({C.FILLED, C.CANCELLED}),
    C.FILLED: frozenset({C.CLOSED}),
}
# modify / cancel / close: done in one step (accepted may come first).
_DONE_BY_TYPE: dict[CommandType, frozenset[CommandStatus]] = {
    CommandType.MODIFY: frozenset({C.PLACED, C.FILLED}),
    CommandType.CANCEL: frozenset({C.CANCELLED}),
    CommandType.CLOSE: frozenset({C.CLOSED}),
}


class AckVerdict(StrEnum):
    APPLY = "apply"
    SAME = "same"  # a repeated ack: answer as before, change nothing
    CONFLICT = "conflict"  # impossible transition: 409


def allowed_next(kind: CommandType, current: CommandStatus) -> frozenset[CommandStatus]:
    """Statuses an ack may move a `kind` command to from `current`."""
    if current in TERMINAL:
        return frozenset()
    if kind is CommandType.OPEN:
        return _OPEN_FLOW.get(current, frozenset())
    done = _DONE_BY_TYPE[kind]
    if current is C.PENDING:
        return done | {C.ACCEPTED, C.REJECTED, C.FAILED}
    if current is C.ACCEPTED:
        return done | {C.REJECTED, C.FAILED}
    return frozenset()


def judge(kind: CommandType, current: CommandStatus, new: CommandStatus) -> AckVerdict:
    if new is current:
        return AckVerdict.SAME
    if new in allowed_next(kind, current):
        return AckVerdict.APPLY
    return AckVerdict.CONFLICT
