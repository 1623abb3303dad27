"""The ingest API for outside producers of signals, and TradingView's alert webhook.

``POST /api/v1/signals`` (signed like the EA protocol, with ``X-Producer-Id``: see
`core.http.signed`; nonces in the same replay table) takes one signal as JSON and answers 201
``{"signal_id", "status", "external_id", "held_id"}``; a repeat of the producer's
`external_id` answers 200 with the first one and changes nothing. ``PATCH`` and ``DELETE
/api/v1/signals/{external_id}`` revise (entry, stop, take_profit) and cancel the producer's own
signal. Bodies over 32 KB answer 413, malformed values 422 with ``field`` and ``errors``, bad
credentials 401, a paused producer or a symbol it may not publish 403, its rate limit 429.

``POST /hooks/tradingview/{token}``: TradingView neither signs nor sets headers, so the long
random token in the path is the credential (only its hash is stored); an unknown token, a
revoked producer or a source address outside its allow-list all answer the same 404 (the source
is the TCP peer, or behind a trusted proxy the client it names: `core.http.forwarded`). The alert
message to paste into TradingView is `TRADINGVIEW_TEMPLATE` (README "Signals from outside");
the signal's `external_id` is ``tv:<ticker>:<side>:<bar time>``, so an alert that fires twice
within a bar is one signal. Every error is an RFC 7807 problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from core.http.bodies import parse_json_object, read_body
from core.http.forwarded import Network, client_address
from core.http.problems import ProblemError
from core.http.signed import SignedRequest, refuse
from services.ingest import intake, producers
from services.ingest.intake import FieldError, Outcome, SignalIn
from services.isolation import AlertSink
from services.signals.manual_checks import MAX_EXPIRY_HOURS, ManualLimits
from services.terminals.device_auth import NonceStore
from trading import constants as C

MAX_BODY_BYTES = 32 * 1024
ExternalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@/-]{1,64}$")]
Price = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8)]
RewardRisk = Annotated[Decimal, Field(gt=0, le=100)]
ExpiryHours = Annotated[int, Field(ge=1, le=MAX_EXPIRY_HOURS)]
Note = Annotated[str, StringConstraints(max_length=200)]
TRADINGVIEW_TEMPLATE = """{
  "ticker": "{{ticker}}",
  "side": "{{strategy.order.action}}",
  "time": "{{time}}",
  "entry": {{close}},
  "stop": {{plot_0}},
  "reward_risk": 2,
  "note": "{{strategy.order.comment}}"
}"""


@dataclass(frozen=True, slots=True)
class IngestConfig:
    limits: ManualLimits
    owners: frozenset[int]
    alerts: AlertSink | None = None
    trusted_proxies: tuple[Network, ...] = ()  # TRUSTED_PROXIES: whose X-Forwarded-For counts


CONFIG_KEY = web.AppKey("ingest_config", IngestConfig)
NONCES_KEY = web.AppKey("ingest_nonces", NonceStore)


class SignalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    symbol: Annotated[str, StringConstraints(min_length=1, max_length=24)]
    side: Literal["buy", "sell"]
    order_type: Literal["limit", "market"] = "limit"
    entry: Price | None = None
    stop: Price
    take_profit: Price | None = None
    reward_risk: RewardRisk | None = None
    expiry_hours: ExpiryHours = C.ORDER_EXPIRY_HOURS
    note: Note = ""

    def to_signal(self) -> SignalIn:
        return SignalIn(**self.model_dump())


class RevisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: Price | None = None
    stop: Price | None = None
    take_profit: Price | None = None


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class TradingViewBody(BaseModel):
    """TradingView's alert JSON (`TRADINGVIEW_TEMPLATE`): placeholders already filled in."""

    model_config = ConfigDict(extra="forbid")

    ticker: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    side: Annotated[Literal["buy", "sell"], BeforeValidator(_lower)]  # TradingView: "BUY" too
    time: Annotated[str, StringConstraints(pattern=r"^[0-9TZ:.+-]{1,40}$")]  # the bar's time
    entry: Price | None = None
    stop: Price
    take_profit: Price | None = None
    reward_risk: RewardRisk | None = None
    expiry_hours: ExpiryHours = C.ORDER_EXPIRY_HOURS
    note: Note = ""

    def to_signal(self) -> SignalIn:
        symbol = self.ticker.rsplit(":", 1)[-1]  # "FX:EURUSD" -> "EURUSD"
        return SignalIn(
            external_id=f"tv:{symbol}:{self.side}:{self.time}"[:64], symbol=symbol,
            side=self.side, order_type="limit" if self.entry is not None else "market",
            entry=self.entry, stop=self.stop, take_profit=self.take_profit,
            reward_risk=self.reward_risk, expiry_hours=self.expiry_hours, note=self.note,
        )  # fmt: skip


def _invalid(errors: list[dict[str, str]]) -> ProblemError:
    fields = ", ".join(e["field"] for e in errors) or "body"
    field = errors[0]["field"] if errors else "body"
    return ProblemError(422, "Unprocessable Entity", f"invalid {fields}", field=field,
                        errors=errors)  # fmt: skip


def _parse(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise _invalid(errors) from None


def _field_problem(exc: FieldError) -> ProblemError:
    detail = exc.problem_detail()
    error = {"field": exc.field, "message": detail}
    cause = exc.cause
    return ProblemError(cause.problem_status, cause.problem_title, detail, field=exc.field,
                        errors=[error])  # fmt: skip


async def _producer(request: web.Request) -> tuple[producers.ProducerAuth, bytes]:
    """The signed caller and the raw body: 401/413 as the EA protocol answers them."""
    signed = SignedRequest.parse(request, "X-Producer-Id")
    signed.check_fresh()
    body = await read_body(request, MAX_BODY_BYTES)
    auth = await producers.for_auth(signed.caller_id)
    if auth is None:
        refuse("unknown or revoked producer", signed.caller_id)
    signed.verify(request, auth.secret, body)
    if not await request.app[NONCES_KEY].consume(signed.caller_id, signed.nonce):
        refuse("nonce already used", signed.caller_id)
    return auth, body


def _answer(outcome: Outcome, external_id: str) -> web.Response:
    body = {
        "signal_id": outcome.signal_id, "status": outcome.status,
        "external_id": external_id, "held_id": outcome.held_id,
    }  # fmt: skip
    return web.json_response(body, status=201 if outcome.created else 200)


async def _ingest(
    request: web.Request, info: producers.ProducerInfo, signal: SignalIn, label: str = ""
) -> web.Response:
    config = request.app[CONFIG_KEY]
    try:
        outcome = await intake.ingest(
            info, signal, config.limits, owners=config.owners, label=label, alerts=config.alerts
        )
    except FieldError as exc:
        raise _field_problem(exc) from None
    return _answer(outcome, signal.external_id)


async def post_signal(request: web.Request) -> web.Response:
    auth, body = await _producer(request)
    parsed: SignalBody = _parse(SignalBody, parse_json_object(body))
    return await _ingest(request, auth.info, parsed.to_signal())


async def patch_signal(request: web.Request) -> web.Response:
    auth, body = await _producer(request)
    external_id = request.match_info["external_id"]
    changes: RevisionBody = _parse(RevisionBody, parse_json_object(body))
    config = request.app[CONFIG_KEY]
    try:
        view = await intake.revise(
            auth.info, external_id, changes.model_dump(), config.limits, alerts=config.alerts
        )
    except FieldError as exc:
        raise _field_problem(exc) from None
    return web.json_response(
        {"signal_id": view.id, "status": view.status.value, "version": view.version,
         "external_id": external_id}
    )  # fmt: skip


async def delete_signal(request: web.Request) -> web.Response:
    auth, _ = await _producer(request)
    external_id = request.match_info["external_id"]
    status = await intake.withdraw(auth.info, external_id, alerts=request.app[CONFIG_KEY].alerts)
    return web.json_response({"external_id": external_id, "status": status})


async def tradingview(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    body = await read_body(request, MAX_BODY_BYTES)
    info = await producers.for_tradingview(token) if 20 <= len(token) <= 100 else None
    config = request.app[CONFIG_KEY]
    source = client_address(
        request.remote, request.headers.get("X-Forwarded-For"), config.trusted_proxies
    )
    if info is None or not producers.source_allowed(info, source):
        raise ProblemError(404, "Not Found")  # the same answer for every reason: nothing revealed
    parsed: TradingViewBody = _parse(TradingViewBody, parse_json_object(body))
    return await _ingest(request, info, parsed.to_signal(), label="TradingView: ")


def setup_ingest(app: web.Application, config: IngestConfig) -> None:
    app[CONFIG_KEY] = config
    app[NONCES_KEY] = NonceStore()
    app.router.add_post("/api/v1/signals", post_signal)
    app.router.add_route("PATCH", "/api/v1/signals/{external_id}", patch_signal)
    app.router.add_delete("/api/v1/signals/{external_id}", delete_signal)
    app.router.add_post(producers.TV_PATH + "{token}", tradingview)
