"""The in-process event bus: services publish typed events, the assembly says who hears them.

Events are frozen dataclasses (subclasses of `Event`). `bus.subscribe(EventType, handler)` is
typed: the handler receives that type. Handlers are plain functions, called synchronously in
`publish` in subscription order; one that must do I/O schedules it itself (e.g. `Sender.wake`
sets an asyncio event). Synchronous delivery keeps the order of events and lets the
publisher's state be what a handler sees; a handler that raises is logged and the others
still run.

After commit: inside `bus.deferred()` (the transaction helpers of the command queue and the
outbox open one around `in_transaction()`), published events are held and delivered when the
outermost block exits normally, i.e. after its commit, merged per type (`Event.merge`); if the
block raises (rollback) they are dropped. No subscriber hears of a row before it is committed.

Which bus: the assembly (`bot/`) creates one per process and activates it (`bus.activate()`)
before it starts the tasks that serve requests, as it initialises Tortoise: the bus, like the
database connection, is part of the context those tasks inherit. Services publish with
`core.bus.publish(event)`, which goes to the active bus (none active: nobody can have
subscribed, the event is dropped). Subscriptions are made only by the assembly.

Events that other replicas must hear derive from `ReplicaEvent` and say how they travel as
JSON; `core.bus_pg` forwards them over PostgreSQL LISTEN/NOTIFY.

Imports: the standard library only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

log = logging.getLogger(__name__)
E = TypeVar("E", bound="Event")
Handler = Callable[[E], None]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened; subclasses are frozen dataclasses."""

    @classmethod
    def merge(cls, events: Sequence[Self]) -> list[Self]:
        """Events of this type held until a commit, as they are delivered (default: as is)."""
        return list(events)


@dataclass(frozen=True, slots=True)
class ReplicaEvent(Event):
    """An event every replica must hear; `topic` names it on the wire."""

    topic: ClassVar[str]

    def to_wire(self) -> list[dict[str, Any]]:
        """JSON objects carrying this event (several when it is too big for one NOTIFY)."""
        raise NotImplementedError

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self | None:
        """The event from one JSON object, or None when it is not well formed."""
        raise NotImplementedError


class Bus:
    """Typed publish/subscribe within one process (see the module docstring)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Callable[[Any], None]]] = {}
        self._held: ContextVar[list[Event] | None] = ContextVar("bus_held", default=None)
        self.failures = 0  # handlers that raised

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> Callable[[], None]:
        """Call `handler(event)` for each published `event_type`; returns an unsubscribe."""
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` now, or when the enclosing `deferred()` block commits."""
        held = self._held.get()
        if held is not None:
            held.append(event)
            return
        self._deliver(event)

    @property
    def deferring(self) -> bool:
        """Inside a `deferred()` block: what is published now waits for its end."""
        return self._held.get() is not None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold events published inside; deliver them if the block ends normally, drop them
        if it raises. Nested blocks deliver at the end of the outermost one."""
        if self._held.get() is not None:
            yield
            return
        held: list[Event] = []
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
        by_type: dict[type[Event], list[Event]] = {}
        for event in held:
            by_type.setdefault(type(event), []).append(event)
        for event_type, events in by_type.items():
            for merged in event_type.merge(events):
                self._deliver(merged)

    def _deliver(self, event: Event) -> None:
        for handler in list(self._handlers.get(type(event), ())):
            try:
                handler(event)
            except Exception:
                self.failures += 1
                log.exception(
                    "event handler failed",
                    extra={"event": type(event).__name__, "handler": repr(handler)},
                )

    # -- the process's bus ---------------------------------------------------------------------
    def activate(self) -> Token[Bus | None]:
        """Make this the bus of the current context and the tasks started from it."""
        return _active.set(self)

    @staticmethod
    def deactivate(token: Token[Bus | None]) -> None:
        _active.reset(token)


_active: ContextVar[Bus | None] = ContextVar("signaldesk_bus", default=None)


def active() -> Bus | None:
    """The bus of this context (None outside an app: a script, a unit test without one)."""
    return _active.get()


def publish(event: Event) -> None:
    """Publish on the active bus (deferred inside its `deferred()` block); none: dropped."""
    bus = _active.get()
    if bus is not None:
        bus.publish(event)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """The active bus's `deferred()` (nothing to hold without a bus)."""
    bus = _active.get()
    if bus is None:
        yield
        return
    with bus.deferred():
        yield
