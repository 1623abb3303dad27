"""OPEN commands for many terminals at once (a copy signal may reach thousands).

Everything a decision needs is loaded in a fixed number of queries per signal (settings, latest
balances, reported symbols, cap counters, existing commands), each terminal is planned in
memory, and the commands go in with one INSERT (`ea_commands.create_many`). Skips are audited
and told to the user once per signal (outbox dedupe key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.functions import Count, Max

from core import clock
from models.devices import (
    AccountSnapshot,
    Command,
    CommandStatus,
    CommandType,
    CopySettings,
    Device,
    DeviceMode,
    DeviceStatus,
    DeviceSymbol,
    Position,
)
from models.notifications import Notification
from models.users import Role
from services import app_settings, audit
from services.billing import entitlements as billing
from services.billing.entitlements import Access
from services.copy.sizing import Limits, Skip, terminal_levels, volume_for
from services.isolation import Faults, faults_of
from services.outbox import notifications as outbox
from services.signals.views import SignalView
from services.terminals import commands as ea_commands
from services.terminals import messages as tm
from services.terminals import payloads as ea_payloads
from services.terminals import symbol_map
from services.users import entitlements
from services.users.profiles import to_info

log = logging.getLogger(__name__)
S = CommandStatus
UNFILLED = (S.PENDING, S.ACCEPTED, S.PLACED)
LIVE = (*UNFILLED, S.FILLED)
CHUNK = 500  # ids per IN (...) list
T = TypeVar("T")


def open_key(device_pk: int, signal_id: int) -> str:
    return f"open:{device_pk}:{signal_id}"


def order_comment(signal_id: int) -> str:
    """The broker-side comment of an OPEN (unique per terminal: one OPEN per signal; well
    under MT5's 31 characters). `terminal_reports.command_for_comment` reads it back."""
    return f"sd:{signal_id}"


def payload(
    *,
    symbol: str,
    side: str,
    signal_id: int | None,
    order_type: str = "limit",
    price: Decimal | None = None,
    sl: Decimal | None = None,
    tp: Decimal | None = None,
    volume: Decimal | None = None,
    expires_at: datetime | None = None,
    ticket: int | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """The wire command minus id/type (services.terminals.protocol.WireCommand), JSON-safe:
    Decimals as exact strings, times as ISO 8601 UTC."""

    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "signal_id": signal_id, "symbol": symbol, "side": side, "order_type": order_type,
        "price": num(price), "sl": num(sl), "tp": num(tp), "volume": num(volume),
        "expires_at": None if expires_at is None else expires_at.astimezone(UTC).isoformat(),
        "ticket": ticket, "comment": comment,
    }  # fmt: skip


def limits_from(row: CopySettings | None) -> Limits:
    """A device's risk settings with defaults for anything not set."""
    base = Limits()
    if row is None:
        return base
    return Limits(
        risk_pct=base.risk_pct if row.risk_pct is None else row.risk_pct,
        lot_multiplier=base.lot_multiplier if row.lot_multiplier is None else row.lot_multiplier,
        max_lot=row.max_lot,
        max_open_positions=row.max_open_positions,
        max_trades_per_day=row.max_trades_per_day,
        max_drawdown_pct=row.max_drawdown_pct,
    )


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass
class Context:
    """What planning needs for one signal and a set of devices, loaded in a few queries."""

    visibility: app_settings.Visibility
    existing: set[str] = field(default_factory=set)
    limits: dict[int, Limits] = field(default_factory=dict)
    balances: dict[int, Decimal] = field(default_factory=dict)
    symbols: dict[int, list[DeviceSymbol]] = field(default_factory=dict)
    open_counts: dict[int, int] = field(default_factory=dict)
    trades_today: dict[int, int] = field(default_factory=dict)
    access: dict[int, Access] = field(default_factory=dict)  # by user primary key


async def _counts(query: Any, ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = (
            await query.filter(device_id__in=list(chunk))
            .annotate(n=Count("id"))
            .group_by("device_id")
            .values_list("device_id", "n")
        )
        out.update({int(pk): int(n) for pk, n in rows})
    return out


async def _caps(ctx: Context, ids: Sequence[int], now: datetime) -> None:
    capped = [pk for pk in ids if ctx.limits[pk].max_open_positions is not None]
    if capped:
        live = await _counts(Command.filter(type=CommandType.OPEN, status__in=LIVE), capped)
        held = await _counts(Position.all(), capped)
        ctx.open_counts = {pk: max(live.get(pk, 0), held.get(pk, 0)) for pk in capped}
    daily = [pk for pk in ids if ctx.limits[pk].max_trades_per_day is not None]
    if daily:
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        query = Command.filter(type=CommandType.OPEN, created_at__gte=start)
        ctx.trades_today = await _counts(query, daily)


async def load_context(devices: Sequence[Device], view: SignalView, now: datetime) -> Context:
    """Everything `plan` needs for these devices: a few queries per CHUNK devices."""
    ctx = Context(await app_settings.visibility())
    ids = [d.id for d in devices]
    ours = symbol_map.canonical(view.symbol)
    names = symbol_map.override_names(devices, view.symbol)
    match = Q(symbol=ours) | Q(name__in=names) if names else Q(symbol=ours)
    for chunk in map(list, _chunks(ids)):
        keys = [open_key(pk, view.id) for pk in chunk]
        found = await Command.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
        ctx.existing.update(str(k) for k in found)
        for row in await CopySettings.filter(device_id__in=chunk):
            ctx.limits[row.device_id] = limits_from(row)  # type: ignore[attr-defined]
        ctx.balances.update(await _latest_balances(chunk))
        for sym in await DeviceSymbol.filter(match, device_id__in=chunk):
            ctx.symbols.setdefault(sym.device_id, []).append(sym)  # type: ignore[attr-defined]
    for pk in ids:
        ctx.limits.setdefault(pk, Limits())
    await _caps(ctx, ids, now)
    ctx.access = await billing.access_for_many(
        {d.user.id: Role(d.user.role) for d in devices}, now
    )
    return ctx


async def _latest_balances(ids: list[int]) -> dict[int, Decimal]:
    """Balance of each device's newest account snapshot (two queries)."""
    newest = AccountSnapshot.filter(device_id__in=ids).annotate(m=Max("id")).group_by("device_id")
    last_ids: list[Any] = list(await newest.values_list("m", flat=True))
    rows = await AccountSnapshot.filter(id__in=last_ids).values_list("device_id", "balance")
    return {int(pk): Decimal(str(balance)) for pk, balance in rows}


def plan(device: Device, view: SignalView, ctx: Context) -> dict[str, Any]:
    """The OPEN payload for `device` (pure, from `ctx`); raises Skip with the reason."""
    user = replace(to_info(device.user), access=ctx.access.get(device.user.id))
    if device.mode == DeviceMode.COPY and not entitlements.can_copy(user):
        raise Skip("not_entitled")
    if device.status == DeviceStatus.PAUSED:
        raise Skip("paused")
    limits = ctx.limits[device.id]
    cap, count = limits.max_open_positions, ctx.open_counts.get(device.id, 0)
    if cap is not None and count >= cap:
        raise Skip("max_open_positions", count=count, limit=cap)
    cap, count = limits.max_trades_per_day, ctx.trades_today.get(device.id, 0)
    if cap is not None and count >= cap:
        raise Skip("max_trades_per_day", count=count, limit=cap)
    try:
        resolved = symbol_map.resolve_from(device, view.symbol, ctx.symbols.get(device.id, []))
    except symbol_map.UnusableSpec as bad:
        raise Skip("bad_spec", symbol=bad.broker_name, field=bad.field) from None
    if resolved is None:
        raise Skip("unknown_symbol", symbol=view.symbol)
    balance = ctx.balances.get(device.id)
    if balance is None:
        raise Skip("no_account")
    spec = resolved.spec
    levels = terminal_levels(
        view.side, view.entry, view.stop, view.take_profit, spec, ctx.visibility
    )
    volume = volume_for(balance, abs(levels.price - levels.stop), spec, limits)
    return payload(
        symbol=resolved.broker_name, side=view.side, signal_id=view.id, price=levels.price,
        sl=levels.sl, tp=levels.tp, volume=volume, expires_at=view.expires_at,
        comment=order_comment(view.id),
    )  # fmt: skip


async def open_on(
    devices: Sequence[Device], view: SignalView, faults: Faults | None = None
) -> list[str]:
    """OPEN commands for `devices` (with `user` loaded); returns the ids created.

    Each terminal is planned on its own: a `Skip` is a decision (audited, told to the user);
    any other error while planning one terminal is a fault (`services.isolation`): that
    terminal is skipped with reason `internal_error` and the others still get the signal."""
    if not devices:
        return []
    faults = faults_of(faults)
    ctx = await load_context(devices, view, clock.now())
    items: list[ea_commands.NewCommand] = []
    skips: list[tuple[Device, Skip]] = []
    for device in devices:
        key = open_key(device.id, view.id)
        if key in ctx.existing:
            continue
        try:
            body = ea_payloads.normalise_payload(CommandType.OPEN, plan(device, view, ctx))
        except Skip as skip:
            skips.append((device, skip))
            continue
        except Exception as exc:  # one terminal's data or a bug: never the whole signal
            await faults.record("copy.open", device.device_id, view.id, exc)
            skips.append((device, Skip("internal_error")))
            continue
        items.append(ea_commands.NewCommand(
            device.id, CommandType.OPEN, body, view.id, key, delivery_deadline(view)
        ))  # fmt: skip
    created = [cid for cid in await ea_commands.create_many(items) if cid is not None]
    await _skipped(skips, view.id, faults)
    return created


async def _skipped(skips: list[tuple[Device, Skip]], signal_id: int, faults: Faults) -> None:
    """Audit and announce skips not announced before (a retried fan-out stays quiet)."""
    notices = {tm.skip_key(device.id, signal_id): (device, skip) for device, skip in skips}
    for chunk in _chunks(list(notices)):
        for key in await Notification.filter(dedupe_key__in=list(chunk)).values_list(
            "dedupe_key", flat=True
        ):
            notices.pop(str(key), None)
    items = []
    for device, skip in notices.values():
        await audit.record(
            "copy.skipped", actor_id=None, target=device.device_id, signal_id=signal_id,
            reason=skip.code, **{k: str(v) for k, v in skip.params.items()},
        )  # fmt: skip
        log.info("copy skipped", extra={"device": device.device_id, "reason": skip.code})
        try:
            notice = tm.skip_notice(
                tm.recipient(device.user), device.id, device.name, signal_id, skip.code,
                skip.params,
            )  # fmt: skip
            outbox.validate_payload(notice.payload)
        except Exception as exc:  # the user's stored data cannot be rendered
            await faults.record("copy.notice", device.device_id, signal_id, exc)
            continue
        items.append(notice)
    await outbox.enqueue_many(items)


def delivery_deadline(view: SignalView, now: datetime | None = None) -> datetime:
    """Until when (wall clock) the server keeps offering a command for `view`.

    The signal's `expires_at` is market time (a bar close + the order's life). Live, market time
    is the wall clock and the command expires with the order. When bars are replayed (sandbox,
    demos) market time lies in the past: the command then gets the order's whole life from now,
    and the signal's own expiry still cancels it through a CANCEL command.
    """
    moment = now or clock.now()
    if view.expires_at > moment:
        return view.expires_at
    return moment + (view.expires_at - view.published_at)
