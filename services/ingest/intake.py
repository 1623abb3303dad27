"""A producer's signal in: the policy (paused, symbols, rate), the dedupe and the very checks
`/post` applies, then publication through the same lifecycle (cards, approvals, copy trading,
the ledger) or a hold for the owner's confirmation.

Checks: `services.signals.manual` finds the market (a symbol with a live feed) and
`services.signals.manual_checks` checks entry, stop, take-profit and expiry; here they run step
by step, as the /post dialog runs them, only so that a refusal names its field (`FieldError`);
`manual.publish_external` then runs `validate` again at a fresh price before publishing.

Dedupe: a producer's `external_id` is unique per producer on `signals` and on `held_signals`.
A repeat finds the first one and changes nothing; concurrent identical posts race on the
unique key: one insert wins, the others' transactions roll back (`IntegrityError`) and they
answer the winner's signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock
from models.ingest import HeldSignal, HeldStatus, ProducerMode
from models.signals import Signal
from services.errors import InvalidInput, NotFound, PermissionDenied, UserFacingError
from services.ingest.notices import announce_held, close_copies
from services.ingest.producers import ProducerInfo, info_of
from services.isolation import AlertSink
from services.outbox import notifications as outbox
from services.signals import lifecycle, manual
from services.signals.manual_checks import (
    SIDES,
    ManualLimits,
    ManualRequest,
    Market,
    check_entry,
    check_expiry,
    check_stop,
    check_take_profit,
)
from services.signals.views import SignalView
from services.terminals.symbol_map import canonical
from trading import constants as C

RATE_WINDOW = timedelta(hours=1)


class FieldError(InvalidInput):
    """A refused value: `field` names it in the request; `cause` is the refusal (its HTTP
    status: 422 for a value, 403 for a symbol the producer may not publish)."""

    def __init__(self, field: str, cause: UserFacingError) -> None:
        super().__init__(cause.key, **cause.params)
        self.field = field
        self.cause = cause


class RateLimited(PermissionDenied):
    problem_status = 429
    problem_title = "Too Many Requests"


@dataclass(frozen=True, slots=True)
class SignalIn:
    """A producer's signal as it arrived (validated in shape by the adapter)."""

    external_id: str
    symbol: str
    side: str
    order_type: str = "limit"  # limit | market (entry: the last price)
    entry: Decimal | None = None
    stop: Decimal = Decimal(0)
    take_profit: Decimal | None = None
    reward_risk: Decimal | None = None  # instead of a take-profit
    expiry_hours: int = C.ORDER_EXPIRY_HOURS
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        def text(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "external_id": self.external_id, "symbol": self.symbol, "side": self.side,
            "order_type": self.order_type, "entry": text(self.entry), "stop": str(self.stop),
            "take_profit": text(self.take_profit), "reward_risk": text(self.reward_risk),
            "expiry_hours": self.expiry_hours, "note": self.note,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignalIn:
        def num(v: object) -> Decimal | None:
            return None if v is None else Decimal(str(v))

        return cls(
            external_id=str(data["external_id"]), symbol=str(data["symbol"]),
            side=str(data["side"]), order_type=str(data["order_type"]), entry=num(data["entry"]),
            stop=Decimal(str(data["stop"])), take_profit=num(data["take_profit"]),
            reward_risk=num(data["reward_risk"]), expiry_hours=int(data["expiry_hours"]),
            note=str(data["note"]),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a post did: `created` False for a repeat; `signal_id` None while held."""

    created: bool
    status: str  # published | held | discarded | the signal's status for a repeat
    signal_id: int | None
    held_id: int | None = None


def _attributed(field: str, step: Any, *args: Any) -> Any:
    try:
        return step(*args)
    except UserFacingError as exc:
        raise FieldError(field, exc) from None


def to_request(m: Market, signal: SignalIn) -> ManualRequest:
    """The request `/post` would check, each value checked in the dialog's order; a refusal
    names the field. A market order enters at the last price; a reward:risk places the
    take-profit that far from the (gridded) entry."""
    if signal.side not in SIDES:
        raise FieldError("side", InvalidInput("error.signal_side", side=signal.side[:16]))
    if signal.order_type == "market" or signal.entry is None:
        entry_typed = m.quote.close
    else:
        entry_typed = signal.entry
    entry = _attributed("entry", check_entry, m, signal.side, entry_typed).value
    stop = _attributed("stop", check_stop, m, signal.side, entry, signal.stop).value
    tp = signal.take_profit
    field = "take_profit"
    if tp is None and signal.reward_risk is not None:
        field = "reward_risk"
        sign = 1 if signal.side == "buy" else -1
        tp = entry + sign * signal.reward_risk * abs(entry - stop)
    _attributed(field, check_take_profit, m, signal.side, entry, stop, tp)
    _attributed("expiry_hours", check_expiry, signal.expiry_hours)
    return ManualRequest(m.symbol, signal.side, entry, stop, tp, signal.expiry_hours, signal.note)


async def check(info: ProducerInfo, signal: SignalIn, limits: ManualLimits) -> ManualRequest:
    """Policy and every /post check; the request to publish."""
    if info.paused:
        raise PermissionDenied("ingest.error_paused", name=info.name)
    if canonical(signal.symbol.strip().upper()) not in info.symbols:
        raise FieldError(
            "symbol",
            PermissionDenied("ingest.error_symbol", symbol=signal.symbol[:24], name=info.name),
        )
    try:
        m = await manual.market(signal.symbol, limits)
    except UserFacingError as exc:
        raise FieldError("symbol", exc) from None
    return to_request(m, signal)


async def _existing(info: ProducerInfo, external_id: str) -> Outcome | None:
    row = await Signal.get_or_none(producer_id=info.id, external_id=external_id).only(
        "id", "status"
    )
    if row is not None:
        return Outcome(False, str(row.status), row.id)
    held = await HeldSignal.get_or_none(producer_id=info.id, external_id=external_id)
    if held is not None:
        return Outcome(False, str(held.status), held.signal_id, held.id)  # type: ignore[attr-defined]
    return None


async def _check_rate(info: ProducerInfo) -> None:
    since = clock.SYSTEM.now() - RATE_WINDOW  # created_at is stamped by the wall clock
    used = await Signal.filter(producer_id=info.id, created_at__gte=since).count()
    used += await HeldSignal.filter(
        producer_id=info.id, created_at__gte=since, status=HeldStatus.HELD
    ).count()
    if used >= info.rate_per_hour:
        raise RateLimited("ingest.error_rate_limited", rate=info.rate_per_hour)


def origin(info: ProducerInfo, external_id: str, label: str = "") -> manual.Origin:
    return manual.Origin(info.id, external_id, f"{label}{info.name}")


async def ingest(
    info: ProducerInfo,
    signal: SignalIn,
    limits: ManualLimits,
    *,
    owners: frozenset[int],
    label: str = "",
    alerts: AlertSink | None = None,
) -> Outcome:
    """Publish (or hold) the producer's signal; a repeat of its `external_id` answers the
    first one. `label` prefixes the card's name ("TradingView: ")."""
    seen = await _existing(info, signal.external_id)
    if seen is not None:
        return seen
    if info.paused:
        raise PermissionDenied("ingest.error_paused", name=info.name)
    await _check_rate(info)
    request = await check(info, signal, limits)
    if info.mode is ProducerMode.HOLD:
        return await _hold(info, signal, owners, label)
    try:
        view = await manual.publish_external(
            origin(info, signal.external_id, label), request, limits, alerts=alerts
        )
    except IntegrityError:
        view = None  # a concurrent identical post won the unique key
    if view is None:
        found = await _existing(info, signal.external_id)
        if found is None:  # pragma: no cover - the unique key holds a row
            raise
        return found
    return Outcome(True, "published", view.id)


async def _hold(
    info: ProducerInfo, signal: SignalIn, owners: frozenset[int], label: str
) -> Outcome:
    """Keep the signal for the owner's decision, with the label its card will carry."""
    try:
        async with outbox.transaction():
            held = await HeldSignal.create(
                producer_id=info.id, external_id=signal.external_id,
                request={**signal.as_json(), "label": label},
            )  # fmt: skip
            await announce_held(held.id, info.name, signal, owners)
    except IntegrityError:
        found = await _existing(info, signal.external_id)
        assert found is not None
        return found
    return Outcome(True, "held", None, held.id)


async def confirm(
    held_id: int, actor_id: int, limits: ManualLimits, *, alerts: AlertSink | None = None
) -> SignalView:
    """The owner confirms a held signal: every check again at a fresh price, then published.
    A second tap answers the signal the first one published."""
    held = await HeldSignal.get_or_none(id=held_id).select_related("producer")
    if held is None:
        raise NotFound("ingest.error_held_unknown", id=held_id)
    if held.status is HeldStatus.DISCARDED:
        raise InvalidInput("ingest.error_held_discarded", id=held_id)
    if held.signal_id is not None:  # type: ignore[attr-defined]
        return await lifecycle.get(held.signal_id)  # type: ignore[attr-defined]
    info = info_of(held.producer)
    signal = SignalIn.from_json(held.request)
    m = await manual.market(signal.symbol, limits)
    request = to_request(m, signal)  # a refusal here leaves it held
    # Claimed and published in one transaction: a Discard (or a second Confirm) racing this one
    # either finds it decided or waits, and a refusal while publishing rolls the claim back.
    async with outbox.transaction():
        claimed = await HeldSignal.filter(id=held_id, status=HeldStatus.HELD).update(
            status=HeldStatus.CONFIRMED, decided_at=clock.now(), decided_by=actor_id
        )
        if claimed:
            label = str(held.request.get("label", ""))  # "TradingView: " from the hook
            view = await _publish_held(info, signal, label, request, limits, actor_id, alerts)
            await HeldSignal.filter(id=held_id).update(signal_id=view.id)
            await close_copies(held_id, actor_id, view.id)
            return view
    decided = await HeldSignal.get(id=held_id)  # by another tap meanwhile
    if decided.signal_id is None:  # type: ignore[attr-defined]
        raise InvalidInput("ingest.error_held_discarded", id=held_id)
    return await lifecycle.get(decided.signal_id)  # type: ignore[attr-defined]


async def _publish_held(
    info: ProducerInfo, signal: SignalIn, label: str, request: ManualRequest,
    limits: ManualLimits, actor_id: int, alerts: AlertSink | None,
) -> SignalView:  # fmt: skip
    """Publish a held signal (its producer's `external_id` may have been published meanwhile
    by a repeat of the post: that one is the answer)."""
    try:
        async with in_transaction():  # a savepoint: the unique key's refusal undoes this alone
            view = await manual.publish_external(
                origin(info, signal.external_id, label), request, limits, actor_id=actor_id,
                alerts=alerts,
            )  # fmt: skip
    except IntegrityError:
        view = None
    if view is None:
        row = await Signal.get(producer_id=info.id, external_id=signal.external_id)
        view = lifecycle.to_view(row)
    return view


@dataclass(frozen=True, slots=True)
class HeldDecision:
    """What the owner's tap on a held signal did: `done` False when it was decided already
    (another tap, another owner, the producer's withdrawal); `signal_id` once published."""

    done: bool
    confirmed: bool
    signal_id: int | None = None


async def decide(
    held_id: int,
    confirmed: bool,
    actor_id: int,
    limits: ManualLimits,
    *,
    alerts: AlertSink | None = None,
) -> HeldDecision:
    """The owner's Confirm or Discard on a held signal. Only a signal still held is decided;
    any later tap answers `done=False` and changes nothing. Confirm runs every check again
    (`confirm`); a refusal (the price moved, the feed went stale) leaves it held."""
    held = await HeldSignal.get_or_none(id=held_id).only("id", "status")
    if held is None:
        raise NotFound("ingest.error_held_unknown", id=held_id)
    if held.status is not HeldStatus.HELD:
        return HeldDecision(False, held.status is HeldStatus.CONFIRMED)
    if not confirmed:
        if await discard(held_id, actor_id):
            return HeldDecision(True, False)
        decided = await HeldSignal.get(id=held_id).only("id", "status")  # by a tap meanwhile
        return HeldDecision(False, decided.status is HeldStatus.CONFIRMED)
    try:
        view = await confirm(held_id, actor_id, limits, alerts=alerts)
    except InvalidInput:
        decided = await HeldSignal.get(id=held_id).only("id", "status")
        if decided.status is HeldStatus.DISCARDED:  # discarded meanwhile
            return HeldDecision(False, False)
        raise  # a check refused it: still held
    return HeldDecision(True, True, view.id)


async def discard(held_id: int, actor_id: int | None) -> bool:
    """Decline a held signal (`actor_id` None: its producer withdrew it); False if it was no
    longer held. The other owners' copies say so."""
    async with outbox.transaction():
        n = await HeldSignal.filter(id=held_id, status=HeldStatus.HELD).update(
            status=HeldStatus.DISCARDED, decided_at=clock.now(), decided_by=actor_id
        )
        if n == 1:
            await close_copies(held_id, actor_id, None)
    return n == 1


async def _own_signal(info: ProducerInfo, external_id: str) -> Signal | None:
    return await Signal.get_or_none(producer_id=info.id, external_id=external_id)


async def revise(
    info: ProducerInfo,
    external_id: str,
    changes: dict[str, Decimal | None],
    limits: ManualLimits,
    *,
    alerts: AlertSink | None = None,
) -> SignalView:
    """Move the levels of the producer's open signal (entry, stop, take_profit): checked as a
    new post would be, then a revision through the lifecycle."""
    if info.paused:
        raise PermissionDenied("ingest.error_paused", name=info.name)
    row = await _own_signal(info, external_id)
    if row is None:
        raise NotFound("ingest.error_signal_unknown", id=external_id[:64])
    view = lifecycle.to_view(row)
    if not view.is_open:
        raise InvalidInput("ingest.error_not_open", id=external_id[:64])
    entry = changes.get("entry") or row.entry
    stop = changes.get("stop") or row.stop
    take_profit = changes.get("take_profit") or row.take_profit
    m = await manual.market(row.symbol, limits)
    wanted = SignalIn(external_id, row.symbol, row.side, "limit", entry, stop, take_profit)
    request = to_request(m, wanted)
    assert request.take_profit is not None
    revised = await lifecycle.revise(
        row.setup_key, row.version + 1, request.entry, request.stop, request.take_profit,
        alerts=alerts,
    )  # fmt: skip
    if revised is None:  # a concurrent revision took this version
        raise InvalidInput("ingest.error_not_open", id=external_id[:64])
    return revised


async def withdraw(
    info: ProducerInfo, external_id: str, *, alerts: AlertSink | None = None
) -> str:
    """Cancel the producer's signal (a filled one closes at its entry, as /cancel does) or
    discard it while held; the resulting status."""
    row = await _own_signal(info, external_id)
    if row is None:
        held = await HeldSignal.get_or_none(producer_id=info.id, external_id=external_id)
        if held is None:
            raise NotFound("ingest.error_signal_unknown", id=external_id[:64])
        await discard(held.id, None)
        return HeldStatus.DISCARDED.value
    view = lifecycle.to_view(row)
    if not view.is_open and view.status.value != "filled":
        return view.status.value
    done = await lifecycle.cancel(row.id, None, alerts=alerts)
    return done.status.value
