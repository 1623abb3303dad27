"""Listening to a test's bus (the `bus` fixture of tests/conftest.py)."""

from __future__ import annotations

from core.bus import Bus, E


def heard(events: Bus, event_type: type[E]) -> list[E]:
    """Every `event_type` published on `events` from now on, in order."""
    found: list[E] = []
    events.subscribe(event_type, found.append)
    return found
