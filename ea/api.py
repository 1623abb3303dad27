"""The EA HTTP API, /ea/v1: what terminals running our EA call. Protocol version 1.

Every request is signed (`ea.auth`). Wire conventions: JSON; decimals are JSON numbers
(parsed exactly on input); times are Unix seconds, UTC (``server_time``, ``expires_at``,
an ack's ``time``, a bar's ``time``); errors are RFC 7807 problem documents (never 500:
400 malformed JSON, 401 authentication, 403 another device's command, 404 unknown command,
409 impossible ack, 413 body over 256 KiB, 422 a field's type or value, 429 too many open
polls, 503 try again). For a device with payload encryption on, every JSON success body is
replaced by ``{"enc": "aes-256-gcm", "nonce", "ciphertext"}`` (see `ea.crypto`); problem
documents and 204s are never encrypted.

- ``GET /ea/v1/commands?wait=N`` (N = 0-30 s, default 0): ``{"commands": [...],
  "server_time": T}`` as soon as a command is pending, or empty after N seconds. A command:
  ``{"id", "type", "signal_id", "symbol", "side", "order_type", "price", "sl", "tp",
  "volume", "expires_at", "ticket", "comment"}``; it is served again until acknowledged.
- ``POST /ea/v1/acks`` ``{"command_id", "status", "ticket", "price", "volume", "time",
  "error", "spread_points"}`` -> 200 ``{"command_id", "status", "ticket"}``; the same ack
  again -> the same 200; an impossible transition -> 409. ``spread_points`` (optional, an
  integer 0-100000: the spread at a fill) is stored with the fill.
- ``GET /ea/v1/ping`` -> ``{"server_time": T, "device_id": "dev_..."}``: signed like every
  request; it changes nothing but the device's last-seen time (the MQL5 self-test checks the
  secret, the clock and the WebRequest permission with it).
- ``POST /ea/v1/account`` ``{"balance", "equity", "margin", "currency", "positions": [...],
  "broker", "quotes": [{"symbol", "bid", "ask"}]}`` (``broker``: optional text <= 64, the
  account's company; ``quotes``: optional, <= 200, 0 < bid <= ask, for the price alerts),
  ``POST /ea/v1/bars`` ``{"bars": [{"symbol", "time", "open", "high", "low", "close",
  "volume"}]}`` -> 204. An sl/tp of 0 means none.
- ``POST /ea/v1/symbols`` ``{"symbols": [{"name", "digits", "point", "tick_size",
  "tick_value", "contract_size", "volume_min", "volume_max", "volume_step",
  "stops_level"}]}`` -> 204; each symbol is checked on its own against sane ranges (digits
  0-10, point = 10^-digits, tick size a whole number of points, ...): when some are refused,
  200 ``{"accepted": [...], "refused": [{"name", "field", "detail"}]}``; when all are, 422.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from core import metrics
from core.crypto import encrypt_payload
from core.http.problems import ProblemError
from ea import schemas
from ea.auth import BODY_KEY, CREDENTIALS_KEY, DEVICE_KEY, ea_auth_middleware
from ea.longpoll import LongPollHub, TooManyPolls
from services.terminals import acks, reports
from services.terminals import commands as ea_commands
from services.terminals.device_auth import Credentials, DeviceAuth
from services.terminals.reports import BarRouter
from trading.number_text import parse_int

log = logging.getLogger(__name__)
PREFIX = "/ea/v1"
MAX_WAIT_S = 30
HUB_KEY = web.AppKey("ea_hub", LongPollHub)
BARS_KEY = web.AppKey("ea_bars", BarRouter)  # owners' bars into the trading loop, if any
routes = web.RouteTableDef()


def respond(device: DeviceAuth, data: dict[str, Any]) -> web.Response:
    """JSON for the device, encrypted under its key when it asked for that."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if device.encrypt:
        envelope = encrypt_payload(device.payload_key, device.device_id, body)
        body = json.dumps(envelope, separators=(",", ":")).encode("ascii")
    return web.Response(body=body, content_type="application/json")


def _wait(request: web.Request) -> int:
    """Only ASCII digits: `str.isdigit` takes "²" (then `int` fails) and `int` takes "٣"."""
    try:
        return parse_int(request.query.get("wait", "0"), 0, MAX_WAIT_S, what="wait")
    except ValueError:
        detail = f"wait must be whole seconds from 0 to {MAX_WAIT_S} (digits 0-9)"
        raise ProblemError(400, "Bad Request", detail, field="wait") from None


@routes.get("/commands")
async def get_commands(request: web.Request) -> web.Response:
    device = request[DEVICE_KEY]
    wait_s = _wait(request)
    try:
        with metrics.EA_LONG_POLLS.track_inprogress():
            commands = await request.app[HUB_KEY].poll(device.ref, wait_s)
    except TooManyPolls:
        detail = "too many long polls open for this device; keep one"
        raise ProblemError(429, "Too Many Requests", detail) from None
    payload = {
        "commands": [schemas.command_json(c) for c in commands],
        "server_time": int(time.time()),
    }
    return respond(device, payload)


@routes.get("/ping")
async def get_ping(request: web.Request) -> web.Response:
    """Proof that the signature, the device and the clock are right."""
    device = request[DEVICE_KEY]
    return respond(device, {"server_time": int(time.time()), "device_id": device.device_id})


@routes.post("/acks")
async def post_ack(request: web.Request) -> web.Response:
    device = request[DEVICE_KEY]
    ack = schemas.parse_ack(request[BODY_KEY])
    try:
        result = await acks.acknowledge(device.id, ack)
    except ea_commands.UnknownCommand:
        raise ProblemError(404, "Not Found", f"no command {ack.command_id}") from None
    except ea_commands.ForeignCommand:
        detail = f"command {ack.command_id} belongs to another device"
        raise ProblemError(403, "Forbidden", detail) from None
    except ea_commands.AckConflict as exc:
        detail = f"command {ack.command_id} is {exc.current.value}; it cannot become {exc.new}"
        raise ProblemError(409, "Conflict", detail, current=exc.current.value) from None
    except Exception:
        log.exception("ack failed", extra={"device": device.device_id, "command": ack.command_id})
        raise ProblemError(503, "Service Unavailable", "ack not recorded; retry it") from None
    data = {"command_id": result.command_id, "status": result.status.value}
    return respond(device, {**data, "ticket": result.ticket})


async def _process(kind: str, device: DeviceAuth, work: Awaitable[object]) -> web.Response:
    """Await the service's processing of a report: 204, or 503 (retry) if it failed."""
    try:
        await work
    except Exception:
        log.exception("report processing failed", extra={"device": device.device_id, "kind": kind})
        raise ProblemError(
            503, "Service Unavailable", f"{kind} report not processed; retry"
        ) from None
    return web.Response(status=204)


@routes.post("/account")
async def post_account(request: web.Request) -> web.Response:
    report = schemas.parse_account(request[BODY_KEY])
    device = request[DEVICE_KEY]
    return await _process("account", device, reports.on_account(device.ref, report))


@routes.post("/symbols")
async def post_symbols(request: web.Request) -> web.Response:
    """Symbols are judged one by one: 204 when all were stored; 200 ``{"accepted": [names],
    "refused": [{"name", "field", "detail"}]}`` when some were refused; a 422 problem naming
    the first refused field (and listing all in ``refused``) when none was usable."""
    device = request[DEVICE_KEY]
    symbols, refused = schemas.parse_symbols(request[BODY_KEY])
    if refused:  # recorded, so that a terminal never trades a symbol with a refused spec
        log.warning(
            "symbol specs refused",
            extra={"device": device.device_id, "fields": [r.path for r in refused][:20]},
        )
        await _process("symbols", device, reports.on_symbols_refused(device.ref, refused))
    if refused and not symbols:
        first = refused[0]
        raise ProblemError(
            422, "Unprocessable Entity", first.detail, field=first.path,
            refused=[schemas.refusal_json(r) for r in refused],
        )  # fmt: skip
    stored = await _process("symbols", device, reports.on_symbols(device.ref, symbols))
    if not refused:
        return stored
    accepted = [s.name for s in symbols]
    return respond(
        device, {"accepted": accepted, "refused": [schemas.refusal_json(r) for r in refused]}
    )


@routes.post("/bars")
async def post_bars(request: web.Request) -> web.Response:
    """Owners' closed bars feed the trading loop when it runs on EA bars; otherwise dropped."""
    bars = schemas.parse_bars(request[BODY_KEY])
    device = request[DEVICE_KEY]
    router = request.app.get(BARS_KEY)
    if router is None:
        return web.Response(status=204)
    return await _process("bars", device, router.on_bars(device.ref, bars))


def setup_ea_routes(
    app: web.Application,
    credentials: Credentials,
    *,
    bars: BarRouter | None = None,
    revocation_check_s: float = 2.0,
) -> LongPollHub:
    """Mount /ea/v1 on ``app`` with its own long-poll hub (started and closed with the app),
    authenticating terminals with ``credentials``; owners' bars go to ``bars`` (without one,
    ``POST /bars`` is accepted and dropped)."""
    ea_app = web.Application(middlewares=[ea_auth_middleware])
    ea_app[CREDENTIALS_KEY] = credentials
    if bars is not None:
        ea_app[BARS_KEY] = bars
    hub = LongPollHub(credentials, revocation_check_s=revocation_check_s)
    ea_app[HUB_KEY] = hub
    ea_app.add_routes(routes)

    async def start(_: web.Application) -> None:
        hub.start()

    async def shutdown(_: web.Application) -> None:
        await hub.close()

    ea_app.on_startup.append(start)
    ea_app.on_shutdown.append(shutdown)
    app.add_subapp(PREFIX, ea_app)
    app[HUB_KEY] = hub
    return hub
