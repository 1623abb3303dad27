"""The sandbox page's panels API, mounted at ``/sandbox/api/``: the replay controls and the
sandbox EA's terminal journal. Same guard as the emulator's control API (loopback ``Host``,
no foreign ``Origin``, the per-start control token, JSON bodies; see ``tgemu.guard``).

| route | body / query | answer |
| --- | --- | --- |
| ``GET replay`` | ``?after_version=N&wait=S`` (long poll) | the replay's state (below) |
| ``POST replay`` | ``{"action": "pause" \\| "play" \\| "step" \\| "speed", "speed": 2}`` | the state |
| ``GET terminal`` | ``?after_seq=N&wait=S`` (long poll) | ``{available, events, last_seq}`` |

The replay state: ``{available, version, state (playing|paused|held), reason, speed, speeds,
interval_s, hold_s, bars, bar_times {symbol: ISO time}, hold_left_s}``; ``available`` is false
when the trading loop does not replay the bundled data (then the page hides the strip).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from ea.client.journal import TerminalJournal
from tgemu.control_io import Body, make_middleware, query_float, query_int
from tgemu.errors import Problem
from trading.replay import SPEEDS, ReplayController, ReplaySnapshot

MAX_WAIT_S = 30.0
MAX_SEQ = 2**53
ACTIONS = ("pause", "play", "step", "speed")
T = TypeVar("T")


class Panels:
    """What the panels show; either part may be missing (no replay, no sandbox EA)."""

    def __init__(
        self, replay: ReplayController | None = None, journal: TerminalJournal | None = None
    ) -> None:
        self.replay = replay
        self.journal = journal
        self.closing = asyncio.Event()

    async def long_poll(self, wait: Awaitable[T], now: T) -> T:
        """`wait`'s answer, or `now` as soon as the server shuts down (no poll holds it up)."""
        waiting = asyncio.ensure_future(wait)
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            await asyncio.wait({waiting, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if waiting.done():
            return waiting.result()
        waiting.cancel()
        return now


PANELS: web.AppKey[Panels] = web.AppKey("sandbox_panels", Panels)


def snapshot_json(snap: ReplaySnapshot) -> dict[str, Any]:
    return {
        "available": True,
        "version": snap.version,
        "state": snap.state.value,
        "reason": snap.reason,
        "speed": snap.speed,
        "speeds": list(SPEEDS),
        "interval_s": snap.interval_s,
        "hold_s": snap.hold_s,
        "bars": snap.bars,
        "bar_times": {s: t.isoformat() for s, t in sorted(snap.bar_times.items())},
        "hold_left_s": None if snap.hold_left_s is None else round(snap.hold_left_s, 1),
    }


def _no_replay() -> web.Response:
    reason = "the trading loop does not replay the bundled data (MARKET_DATA, or feeds given)"
    return web.json_response({"available": False, "reason": reason})


async def replay_state(request: web.Request) -> web.Response:
    replay = request.app[PANELS].replay
    if replay is None:
        return _no_replay()
    after = query_int(request, "after_version", -1, 0, MAX_SEQ)
    wait = query_float(request, "wait", 0.0, MAX_WAIT_S)
    panels = request.app[PANELS]
    waiting = replay.wait_changed(-1 if after is None else after, wait)
    snap = await panels.long_poll(waiting, replay.snapshot())
    return web.json_response(snapshot_json(snap))


async def replay_action(request: web.Request) -> web.Response:
    replay = request.app[PANELS].replay
    if replay is None:
        raise Problem(409, "No replay", "the trading loop does not replay the bundled data")
    body = await Body.read(request)
    action = body.req_str("action")
    if action not in ACTIONS:
        raise Problem(422, "Invalid field", f"'action' must be one of {', '.join(ACTIONS)}")
    if action == "speed":
        speed = body.number("speed")
        if speed not in SPEEDS:
            detail = f"'speed' must be one of {', '.join(f'{s:g}' for s in SPEEDS)}"
            raise Problem(422, "Invalid field", detail)
        snap = replay.set_speed(speed)
    else:
        snap = getattr(replay, action)()
    return web.json_response(snapshot_json(snap))


async def terminal_events(request: web.Request) -> web.Response:
    journal = request.app[PANELS].journal
    after = query_int(request, "after_seq", 0, 0, MAX_SEQ) or 0
    wait = query_float(request, "wait", 0.0, MAX_WAIT_S)
    if journal is None:
        return web.json_response({"available": False, "events": [], "last_seq": after})
    waiting = journal.wait_after(after, wait)
    events = await request.app[PANELS].long_poll(waiting, journal.events_after(after))
    last = events[-1]["seq"] if events else after
    return web.json_response({"available": True, "events": events, "last_seq": last})


def create_panels_app(panels: Panels, control_token: str) -> web.Application:
    """The panels API as a sub-app (``app.add_subapp("/sandbox/api/", ...)``)."""
    guard = make_middleware(
        loopback_only=True, control_token=control_token, everything_control=True
    )
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[PANELS] = panels
    app.router.add_get("/replay", replay_state)
    app.router.add_post("/replay", replay_action)
    app.router.add_get("/terminal", terminal_events)
    app.on_shutdown.append(_release_long_polls)
    return app


async def _release_long_polls(app: web.Application) -> None:
    app[PANELS].closing.set()
