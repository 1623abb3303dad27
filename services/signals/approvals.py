"""Approvals: a paid user's decision on a signal, with consent to the current risk disclaimer.

One row per (user, signal); the decision may change while the signal is open. Every decision is
audited. Terminals in approval mode execute only approved signals (see the devices issue).
Whether the signal is still open is decided again inside the decision's transaction, with the
signal's row locked (PostgreSQL), so a fill, expiry or cancel that wins the race is never
overwritten by a late approval. Consent to the disclaimer: `services.signals.consent`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core import bus
from models.signals import Approval, ApprovalSource, Consent, Decision, Signal, SignalStatus
from services import app_settings, audit, business_metrics
from services.copy import engine as copy_engine
from services.errors import InvalidInput, PermissionDenied
from services.events import LiveUpdate
from services.isolation import AlertSink, Faults
from services.outbox import fanout
from services.signals import lifecycle as signals
from services.signals.views import OPEN_STATUSES, SignalView
from services.text.i18n import msgid as _
from services.users import entitlements
from services.users.profiles import UserInfo


class SignalNotOpen(InvalidInput):
    """The signal left its approval window (filled, expired, replaced, cancelled, closed)."""

    def __init__(self, view: SignalView) -> None:
        super().__init__(_("error.signal_closed"), id=view.id)
        self.signal = view


@dataclass(frozen=True, slots=True)
class SignalDetails:
    """What the Details button shows a paid user: the signal now and the decisions on it."""

    signal: SignalView
    mine: Decision | None
    counts: dict[Decision, int]


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    signal: SignalView
    decision: Decision | None
    changed: bool
    needs_consent: str | None = None  # the disclaimer version to accept first


async def has_consent(user: UserInfo, version: str) -> bool:
    return await Consent.exists(user_id=user.id, version=version)


async def accept_disclaimer(user: UserInfo, version: str) -> None:
    current = await app_settings.disclaimer_version()
    if version != current:
        raise InvalidInput("error.disclaimer_outdated")
    async with in_transaction():
        _, created = await Consent.get_or_create(user_id=user.id, version=version)
        if created:
            await audit.record("disclaimer.accepted", actor_id=user.telegram_id, version=version)


async def decide(
    user: UserInfo,
    signal_id: int,
    decision: Decision,
    source: ApprovalSource = ApprovalSource.CHAT,
    *,
    alerts: AlertSink | None = None,
) -> ApprovalResult:
    """Record `decision`; an approval first needs consent to the current disclaimer. Each of
    the user's approval-mode terminals gets its order on its own: one that fails is skipped
    (and reported to `alerts`), the others still trade."""
    if not entitlements.can_trade_signals(user):
        raise PermissionDenied("error.signal_not_entitled")
    view = await signals.get(signal_id)
    if not view.is_open:
        raise SignalNotOpen(view)
    version = await app_settings.disclaimer_version()
    consent = version if decision is Decision.APPROVED else None
    if consent is not None and not await has_consent(user, version):
        return ApprovalResult(view, None, changed=False, needs_consent=version)
    async with copy_engine.transaction():  # the terminals' long polls wake on commit
        locked = await Signal.filter(id=signal_id).select_for_update().first()
        if locked is not None and SignalStatus(locked.status) not in OPEN_STATUSES:
            raise SignalNotOpen(signals.to_view(locked))  # it ended since we looked
        row = await Approval.get_or_none(user_id=user.id, signal_id=signal_id)
        if row is not None and row.decision == decision:
            return ApprovalResult(view, decision, changed=False)
        if row is None:
            await Approval.create(
                user_id=user.id, signal_id=signal_id, decision=decision,
                consent_version=consent, source=source,
            )  # fmt: skip
        else:
            row.decision, row.consent_version, row.source = decision, consent, source
            await row.save(update_fields=["decision", "consent_version", "source"])
        entry = await audit.record(
            f"signal.{decision.value}", actor_id=user.telegram_id, target=str(signal_id),
            source=source.value, consent=consent,
        )  # fmt: skip
        await fanout.announce_decision(view, user.telegram_id, decision, entry.id)  # the card
        if decision is Decision.APPROVED:
            await copy_engine.on_approved(user.id, view, Faults(alerts))  # approval-mode terminals
        bus.publish(LiveUpdate("decision", signal_id, (user.telegram_id,)))  # after the commit
    business_metrics.approval_recorded(decision)  # committed
    return ApprovalResult(view, decision, changed=True)


async def details(user: UserInfo, signal_id: int) -> SignalDetails:
    """The Details button: levels and decisions for a user entitled to them now (a card may be
    older than the user's demotion)."""
    if not entitlements.can_trade_signals(user):
        raise PermissionDenied("error.details_not_entitled")
    view = await signals.get(signal_id)
    return SignalDetails(view, await decision_of(user, view.id), await counts(view.id))


async def decision_of(user: UserInfo, signal_id: int) -> Decision | None:
    row = await Approval.get_or_none(user_id=user.id, signal_id=signal_id)
    return None if row is None else Decision(row.decision)


async def decisions_of(user: UserInfo, signal_ids: list[int]) -> dict[int, Decision]:
    """The user's decisions on these signals in one query (signals not decided are absent)."""
    if not signal_ids:
        return {}
    rows = await Approval.filter(user_id=user.id, signal_id__in=signal_ids).values_list(
        "signal_id", "decision"
    )
    return {int(sid): Decision(str(value)) for sid, value in rows}


async def counts(signal_id: int) -> dict[Decision, int]:
    out = dict.fromkeys(Decision, 0)
    rows = await Approval.filter(signal_id=signal_id).values_list("decision", flat=True)
    for value in rows:
        out[Decision(str(value))] += 1
    return out


async def exists_signal(signal_id: int) -> bool:
    return await Signal.exists(id=signal_id)
