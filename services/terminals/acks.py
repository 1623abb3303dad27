"""A terminal acknowledges a command: the use case behind ``POST /ea/v1/acks``.

One transaction holds both halves: the command's transition (`commands.apply_ack`) and what it
means to people (`fills.on_ack`: executions, closes, refusals, their messages). If the second
half raises, the transition is rolled back too and the terminal retries the ack; a repeated ack
changes nothing and runs nothing. The ``ea_acks_total`` counter counts each result once, after
the commit (refusals: unknown, foreign, conflict).
"""

from __future__ import annotations

from types import MappingProxyType

from tortoise.transactions import in_transaction

from services import business_metrics
from services.errors import AppError
from services.terminals import commands, fills
from services.terminals.commands import (
    AckConflict,
    AckResult,
    AppliedAck,
    ForeignCommand,
    UnknownCommand,
)
from services.terminals.protocol import AckIn

REFUSALS: MappingProxyType[type[AppError], str] = MappingProxyType(
    {UnknownCommand: "unknown", ForeignCommand: "foreign", AckConflict: "conflict"}
)


async def acknowledge(device_pk: int, ack_in: AckIn) -> AckResult:
    """Apply the ack and what follows from it atomically; the same answer for a repeat.

    Raises `UnknownCommand` (404), `ForeignCommand` (403) or `AckConflict` (409); anything
    else raised by what follows leaves the command as it was.
    """
    try:
        async with in_transaction():
            applied: AppliedAck = await commands.apply_ack(device_pk, ack_in)
            if applied.command is not None:
                await fills.on_ack(applied.command, ack_in)
    except (UnknownCommand, ForeignCommand, AckConflict) as refused:
        business_metrics.ea_ack(ack_in.status, REFUSALS[type(refused)])
        raise
    result = "applied" if applied.command is not None else "repeated"
    business_metrics.ea_ack(ack_in.status, result)  # committed
    return applied.result
