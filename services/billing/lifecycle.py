"""Terminals follow access: `enforce(user_id, now)` makes a user's terminals and copy mode match
what their plan includes now, and `keep` lets them choose which terminals stay active.

The rules (`plan_changes`, pure):
- a paid plan without copy mode: every copy-mode terminal goes back to approval mode (it then
  executes only the signals the user approves; the device model has both modes);
- a paid plan: at most `terminal_limit` terminals are ACTIVE. Over it, the least recently used
  ones (last seen, then newest first) are paused with reason `plan_limit`; under it, terminals
  this module paused come back, most recently used first;
- no access at all: copy-mode terminals pause (reason `no_access`); approval-mode terminals stay
  as they are and get no new commands, because approving needs the approvals feature (the
  signals service and the copy engine ask `services.users.entitlements` for every approval and
  every copy-mode open: tests/services/billing/test_checks_follow_entitlements.py);
- complimentary access (a role set by hand, not an entitlement) pauses nothing: the admin set
  it; terminals this module paused come back.

A paused terminal gets no new OPEN (the copy engine skips it) but still receives modifications,
cancels and closes of what it holds, so open trades are managed to the end.

Exactly once: each change is a conditional UPDATE (only the transaction that changes the row
counts it), all in one transaction with the user's row locked, the audit entries and one
message through the outbox (its dedupe key is derived from the changes made), so running it
twice, or on two replicas at once, changes and says nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from core import bus
from models.devices import Device, DeviceMode, DeviceStatus
from models.users import Role, User
from services import audit
from services.billing import entitlements as billing
from services.billing.callbacks import KeepCB
from services.billing.catalog import Feature
from services.billing.entitlements import Access
from services.errors import InvalidInput, NotFound
from services.events import DeviceChanged
from services.outbox import notifications as outbox
from services.outbox.kinds import BillingNotice
from services.text.formatting import Plural, phrase
from services.text.formatting import render as render_text
from services.text.i18n import msgid as _
from services.text.i18n import translator

PAUSED_OVER_LIMIT = "plan_limit"  # more active terminals than the plan allows
PAUSED_NO_ACCESS = "no_access"  # a copy-mode terminal when access ended
PLAN_PAUSES = (PAUSED_OVER_LIMIT, PAUSED_NO_ACCESS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Terminal:
    """What the rules need to know of a terminal."""

    pk: int
    device_id: str
    name: str
    mode: DeviceMode
    status: DeviceStatus
    paused_reason: str | None
    last_seen_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Changes:
    copy_off: tuple[Terminal, ...] = ()
    pause: tuple[Terminal, ...] = ()
    pause_reason: str = PAUSED_OVER_LIMIT
    resume: tuple[Terminal, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.copy_off or self.pause or self.resume)


@dataclass(frozen=True, slots=True)
class Enforced:
    """What `enforce` changed (public device ids); all empty when nothing did."""

    copy_off: tuple[str, ...] = ()
    paused: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()
    notified: bool = False

    def __bool__(self) -> bool:
        return bool(self.copy_off or self.paused or self.resumed)


def recency(t: Terminal) -> tuple[datetime, datetime, int]:
    """Most recently used first: last seen, then the newest (sort descending)."""
    return (t.last_seen_at or _EPOCH, t.created_at, t.pk)


def plan_changes(terminals: Sequence[Terminal], access: Access) -> Changes:
    """What must change for `terminals` (not revoked) to match `access` (the module rules)."""
    ours = sorted(
        (t for t in terminals if t.status is DeviceStatus.PAUSED and t.paused_reason in PLAN_PAUSES),
        key=recency, reverse=True,
    )  # fmt: skip
    if access.complimentary:
        return Changes(resume=tuple(ours))
    if not access.paid:
        pause = tuple(
            t for t in terminals if t.mode is DeviceMode.COPY and t.status is DeviceStatus.ACTIVE
        )
        return Changes(pause=pause, pause_reason=PAUSED_NO_ACCESS)
    copy_off: tuple[Terminal, ...] = ()
    if not access.has(Feature.COPY_MODE):
        copy_off = tuple(t for t in terminals if t.mode is DeviceMode.COPY)
    active = sorted((t for t in terminals if t.status is DeviceStatus.ACTIVE), key=recency,
                    reverse=True)  # fmt: skip
    limit = max(access.terminal_limit, 0)
    if len(active) > limit:
        return Changes(copy_off, pause=tuple(active[limit:]))
    return Changes(copy_off, resume=tuple(ours[: limit - len(active)]))


def _terminal(row: Device) -> Terminal:
    return Terminal(
        row.id, row.device_id, row.name, DeviceMode(row.mode), DeviceStatus(row.status),
        row.paused_reason, row.last_seen_at, row.created_at,
    )  # fmt: skip


async def terminals_of(user_id: int) -> list[Terminal]:
    rows = await Device.filter(user_id=user_id).exclude(status=DeviceStatus.REVOKED)
    return [_terminal(r) for r in rows]


async def _apply(changes: Changes) -> Changes:
    """The changes as conditional updates; returns those this transaction made."""
    copy_off = [
        t for t in changes.copy_off
        if await Device.filter(id=t.pk, mode=DeviceMode.COPY).exclude(
            status=DeviceStatus.REVOKED).update(mode=DeviceMode.APPROVAL)
    ]  # fmt: skip
    paused = [
        t for t in changes.pause
        if await Device.filter(id=t.pk, status=DeviceStatus.ACTIVE).update(
            status=DeviceStatus.PAUSED, paused_reason=changes.pause_reason)
    ]  # fmt: skip
    resumed = [
        t for t in changes.resume
        if await Device.filter(
            id=t.pk, status=DeviceStatus.PAUSED, paused_reason__in=PLAN_PAUSES
        ).update(status=DeviceStatus.ACTIVE, paused_reason=None)
    ]  # fmt: skip
    return Changes(tuple(copy_off), tuple(paused), changes.pause_reason, tuple(resumed))


async def enforce(user_id: int, now: datetime) -> Enforced:
    """Make the terminals of the user with primary key `user_id` match their access at `now`
    (the module rules); one message says what changed. Idempotent; one transaction."""
    async with outbox.transaction():
        user = await User.filter(id=user_id).select_for_update().first()
        if user is None:
            return Enforced()
        access = await billing.access_for(user_id, now, role=Role(user.role))
        done = await _apply(plan_changes(await terminals_of(user_id), access))
        if not done:
            return Enforced()
        for t, action in _actions(done):
            await audit.record(
                f"device.{action}", actor_id=None, target=t.device_id, plan=access.plan,
                reason="plan", terminal_limit=access.terminal_limit,
            )  # fmt: skip
        notified = await outbox.enqueue(
            user.telegram_id, notice(user.language, access, done),
            _dedupe(user_id, now, done), user_id=user.telegram_id, priority=3,
        )  # fmt: skip
        for t, _action in _actions(done):
            bus.publish(DeviceChanged(t.device_id))  # after the commit (deferred)
    return Enforced(
        tuple(t.device_id for t in done.copy_off), tuple(t.device_id for t in done.pause),
        tuple(t.device_id for t in done.resume), notified,
    )  # fmt: skip


def _actions(done: Changes) -> list[tuple[Terminal, str]]:
    return (
        [(t, "copy_off") for t in done.copy_off]
        + [(t, "paused") for t in done.pause]
        + [(t, "resumed") for t in done.resume]
    )


def _dedupe(user_id: int, now: datetime, done: Changes) -> str:
    made = ",".join(f"{action}:{t.pk}" for t, action in _actions(done))
    digest = hashlib.sha256(f"{now.isoformat()}|{made}".encode()).hexdigest()[:16]
    return f"lifecycle:enforce:{user_id}:{digest}"


def plan_label(language: str | None, code: str | None) -> str:
    """The plan's name in `language` (its code, titled, for a plan without a translation)."""
    tr = translator(language)
    if code is None:
        return tr("plan.free")
    key = f"plan.{code}"
    name = tr(key)
    return code.replace("_", " ").title() if name == key else name


def _names(terminals: Sequence[Terminal]) -> str:
    return ", ".join(f"<b>{escape(t.name)}</b>" for t in terminals)


def notice(language: str | None, access: Access, done: Changes) -> BillingNotice:
    """One message saying what `enforce` changed, in the user's language, with a button per
    terminal paused over the limit ("keep this one instead")."""
    plan = f"<b>{escape(plan_label(language, access.plan))}</b>"
    limit = Plural(_("lifecycle.terminals"), access.terminal_limit)
    lines = []
    if done.copy_off:
        lines.append(render_text(language, _("lifecycle.copy_off"), plan=plan,
                                 names=_names(done.copy_off)))  # fmt: skip
    if done.pause and done.pause_reason == PAUSED_NO_ACCESS:
        lines.append(render_text(language, _("lifecycle.paused_no_access"),
                                 names=_names(done.pause)))  # fmt: skip
    elif done.pause:
        lines.append(render_text(language, _("lifecycle.paused_over_limit"), plan=plan,
                                 limit=limit, names=_names(done.pause)))  # fmt: skip
    if done.resume:
        lines.append(render_text(language, _("lifecycle.resumed"), plan=plan, limit=limit,
                                 names=_names(done.resume)))  # fmt: skip
    keyboard = None
    if done.pause and done.pause_reason == PAUSED_OVER_LIMIT:
        tr = translator(language)
        buttons = [
            outbox.Button(tr(_("lifecycle.btn_keep")).format(name=t.name[:40]),
                          callback_data=KeepCB(device_id=t.device_id).pack())
            for t in done.pause
        ]  # fmt: skip
        keyboard = outbox.inline_keyboard([b] for b in buttons)
    body = phrase(_("lifecycle.enforced"), lines="\n\n".join(lines))
    return BillingNotice("enforced", language, body, keyboard)


# -- the user's choice ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Kept:
    """`keep`'s outcome: `resumed` is active now; `paused` (None: there was room) took its
    place; `choices` are the active terminals to pick from when `instead` was not given."""

    resumed: Terminal | None = None
    paused: Terminal | None = None
    choices: tuple[Terminal, ...] = ()


async def _own(user_id: int, device_id: str) -> Terminal:
    row = await Device.get_or_none(device_id=device_id, user_id=user_id)
    if row is None or row.status == DeviceStatus.REVOKED:
        raise NotFound("error.terminal_not_found")
    return _terminal(row)


async def keep(user_id: int, device_id: str, instead: str | None, now: datetime) -> Kept:
    """The user keeps the terminal `device_id` (paused by their plan) active, pausing their
    active terminal `instead`; checked here: both are theirs, the first paused by the plan,
    the second active, and the number of active terminals stays within the plan's limit.
    Without `instead` and no room, nothing changes and `choices` lists the active ones."""
    async with outbox.transaction():
        user = await User.filter(id=user_id).select_for_update().first()
        if user is None:
            raise NotFound("error.terminal_not_found")
        access = await billing.access_for(user_id, now, role=Role(user.role))
        if not access.paid:
            raise InvalidInput("error.keep_no_plan")
        wanted = await _own(user_id, device_id)
        if wanted.status is not DeviceStatus.PAUSED or wanted.paused_reason not in PLAN_PAUSES:
            raise InvalidInput("error.keep_not_paused_by_plan")
        if wanted.mode is DeviceMode.COPY and not access.has(Feature.COPY_MODE):
            raise InvalidInput("error.keep_needs_copy")
        active = [t for t in await terminals_of(user_id) if t.status is DeviceStatus.ACTIVE]
        if access.complimentary or len(active) < access.terminal_limit:
            return Kept(await _resume(wanted, user.telegram_id))
        if not instead:
            return Kept(choices=tuple(sorted(active, key=recency, reverse=True)))
        other = await _own(user_id, instead)
        if other.status is not DeviceStatus.ACTIVE or len(active) > access.terminal_limit:
            raise InvalidInput("error.keep_over_limit", limit=access.terminal_limit)
        changed = await Device.filter(id=other.pk, status=DeviceStatus.ACTIVE).update(
            status=DeviceStatus.PAUSED, paused_reason=PAUSED_OVER_LIMIT
        )
        if not changed:
            raise InvalidInput("error.keep_over_limit", limit=access.terminal_limit)
        await audit.record("device.paused", actor_id=user.telegram_id, target=other.device_id,
                           reason="kept_instead", kept=wanted.device_id)  # fmt: skip
        bus.publish(DeviceChanged(other.device_id))
        return Kept(await _resume(wanted, user.telegram_id), other)


async def _resume(t: Terminal, actor_id: int) -> Terminal:
    changed = await Device.filter(
        id=t.pk, status=DeviceStatus.PAUSED, paused_reason__in=PLAN_PAUSES
    ).update(status=DeviceStatus.ACTIVE, paused_reason=None)
    if not changed:
        raise InvalidInput("error.keep_not_paused_by_plan")
    await audit.record("device.resumed", actor_id=actor_id, target=t.device_id, reason="kept")
    bus.publish(DeviceChanged(t.device_id))
    return t
