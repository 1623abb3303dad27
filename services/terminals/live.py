"""Telling open Mini App pages that a terminal changed (`services.events.LiveUpdate`).

Kinds: "terminal" (the device itself: name, mode, status, online/offline, risk settings) and
"positions" (an account report: positions and account figures). The key is the device's
primary key and the only user concerned is its owner. Call these inside the transaction that
makes the change: the bus holds the event until the commit (`core.bus.deferred`), so a page
never re-fetches before the change is visible.
"""

from __future__ import annotations

from typing import Literal

from core import bus
from models.devices import Device
from services.events import LiveUpdate

Kind = Literal["terminal", "positions"]


def announce(kind: Kind, device_pk: int, owner_telegram_id: int) -> None:
    """Publish that device `device_pk` of `owner_telegram_id` changed."""
    bus.publish(LiveUpdate(kind, device_pk, (owner_telegram_id,)))


async def announce_device(kind: Kind, device_pk: int) -> None:
    """`announce`, looking the owner up (one query) when the caller has only the key."""
    owners = await Device.filter(id=device_pk).values_list("user__telegram_id", flat=True)
    for telegram_id in owners:
        announce(kind, device_pk, int(telegram_id))  # type: ignore[call-overload]
