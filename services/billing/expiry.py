"""Access over time: reminders before a period ends, the grace period, the end of access, and
`enforce` for every user whose access changed (`run_due`, the periodic job's one call).

For each entitlement at the end of its user's chain of periods (a renewal paid early continues
the chain, so nothing is said about the period it continues):
- 3 days and 1 day before a period that does not renew ends, a reminder with a renew button
  (each sent in its own window: [end - 3 d, end - 1 d) and [end - 1 d, end); a period shorter
  than the lead gets no such reminder, a job that missed the first window sends only the
  second);
- at its end, "your plan ended, access continues until <end + grace>" (a renewing period only
  once RENEWAL_SLACK has passed without the renewal; a failed renewal is announced by the
  payment flow, which sets the period's status to grace);
- when its grace ends and the user has no access left, "your access ended", and `enforce`.

Exactly once: every message's dedupe key is the entitlement id and the kind, and the outbox
refuses a key already queued (INSERT ... ON CONFLICT DO NOTHING), so the job may run as often
as it likes and on two replicas at once. Candidates are found by ranges of `ends_at` /
`starts_at` around now and since the last run (kept in app settings), never by scanning users.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.billing import Entitlement, EntitlementStatus
from models.users import Role, User
from services import app_settings
from services.billing import entitlements as billing
from services.billing import lifecycle
from services.billing.callbacks import RenewCB
from services.billing.entitlements import CURRENT, GRACE, Access
from services.outbox import notifications as outbox
from services.outbox.kinds import BillingEvent, BillingNotice
from services.text.formatting import Relative, phrase
from services.text.i18n import msgid as _
from services.text.i18n import translator

REMINDERS: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=1))  # longest first
RENEWAL_SLACK = timedelta(hours=1)  # a renewal may arrive a little after the period's end
LAST_RUN_KEY = "billing.lifecycle_last_run"
FIRST_LOOKBACK = timedelta(days=7)  # the first run (or after a long stop) looks this far back
MAX_CATCH_UP = timedelta(days=30)
OVERLAP = timedelta(minutes=5)  # runs overlap a little: a row committed late is still found


@dataclass(frozen=True, slots=True)
class Due:
    """What one run did."""

    reminders: int = 0
    grace: int = 0
    ended: int = 0
    enforced: int = 0  # users whose terminals changed


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    user_id: int
    telegram_id: int
    language: str | None
    role: Role
    plan: str
    starts_at: datetime
    ends_at: datetime
    renews: bool
    status: EntitlementStatus


def _row(e: Entitlement) -> _Row:
    return _Row(
        e.id, e.user.id, e.user.telegram_id, e.user.language, Role(e.user.role),
        e.plan_version.plan.code, e.starts_at, e.ends_at, e.renews, EntitlementStatus(e.status),
    )  # fmt: skip


async def _rows(**filters: Any) -> list[_Row]:
    rows = await Entitlement.filter(**filters).prefetch_related("plan_version__plan", "user")
    return [_row(e) for e in rows]


async def _access(rows: Iterable[_Row], now: datetime) -> dict[int, Access]:
    return await billing.access_for_many({r.user_id: r.role for r in rows}, now)


def _chain_end(row: _Row, access: Access | None) -> bool:
    """`row` ends the chain of the plan the user has now (nothing continues it)."""
    return access is not None and access.plan == row.plan and access.ends_at == row.ends_at


def reminder_due(row: _Row, now: datetime) -> timedelta | None:
    """The reminder lead whose window contains `now` (None: none), by the module rule."""
    for lead, later in zip(REMINDERS, (*REMINDERS[1:], timedelta(0)), strict=True):
        moment = row.ends_at - lead
        if moment <= now < row.ends_at - later and row.starts_at <= moment:
            return lead
    return None


def _renew_keyboard(language: str | None, plan: str) -> outbox.Keyboard:
    label = translator(language)(_("lifecycle.btn_renew")).format(
        plan=lifecycle.plan_label(language, plan)
    )
    return outbox.inline_keyboard([[outbox.Button(label, RenewCB(plan=plan).pack())]])


async def _send(row: _Row, event: BillingEvent, key: str, text: str, **params: object) -> bool:
    plan = lifecycle.plan_label(row.language, row.plan)
    body = phrase(text, plan=f"<b>{plan}</b>", **params)
    message = BillingNotice(event, row.language, body, _renew_keyboard(row.language, row.plan))
    return await outbox.enqueue(
        row.telegram_id, message, f"lifecycle:{key}:{row.id}", user_id=row.telegram_id,
        priority=4,
    )  # fmt: skip


async def send_reminders(now: datetime) -> int:
    """Reminders for periods ending within the longest lead that do not renew."""
    rows = await _rows(status__in=CURRENT, renews=False, ends_at__gt=now,
                       ends_at__lte=now + REMINDERS[0])  # fmt: skip
    access = await _access(rows, now)
    sent = 0
    for row in rows:
        lead = reminder_due(row, now)
        user_access = access.get(row.user_id)
        if (
            lead is None
            or not _chain_end(row, user_access)
            or (user_access and user_access.renews)
        ):
            continue
        days = lead // timedelta(days=1)
        sent += await _send(row, "reminder", f"remind{days}d", _("lifecycle.reminder"),
                            ends=row.ends_at, left=Relative(row.ends_at, now))  # fmt: skip
    return sent


async def send_grace(now: datetime) -> int:
    """ "Your plan ended, access continues until ..." for periods that ended within grace."""
    rows = await _rows(status=EntitlementStatus.ACTIVE, ends_at__gt=now - GRACE,
                       ends_at__lte=now)  # fmt: skip
    access = await _access(rows, now)
    sent = 0
    for row in rows:
        if row.renews and now < row.ends_at + RENEWAL_SLACK:
            continue  # the renewal may still arrive
        user_access = access.get(row.user_id)
        if not _chain_end(row, user_access) or not (user_access and user_access.in_grace):
            continue
        sent += await _send(row, "grace", "grace", _("lifecycle.grace"), ended=row.ends_at,
                            until=row.ends_at + GRACE)  # fmt: skip
    return sent


async def send_ended(now: datetime, since: datetime) -> int:
    """ "Your access ended" for users whose last period's grace ended since `since` and who
    have no access left (one message per user: their latest period)."""
    rows = await _rows(status__in=CURRENT, ends_at__gt=since - GRACE, ends_at__lte=now - GRACE)
    latest: dict[int, _Row] = {}
    for row in rows:
        if row.user_id not in latest or row.ends_at > latest[row.user_id].ends_at:
            latest[row.user_id] = row
    access = await _access(latest.values(), now)
    sent = 0
    for row in latest.values():
        if access[row.user_id].paid:
            continue  # another plan (or the role's complimentary access) continues
        sent += await _send(row, "ended", "ended", _("lifecycle.ended"),
                            ended=row.ends_at + GRACE)  # fmt: skip
    return sent


async def changed_users(now: datetime, since: datetime) -> set[int]:
    """Users whose access may have changed in (since, now]: a period started, ended (also
    early: a refund or revocation sets its end to that moment), or its grace ended."""
    began = Entitlement.filter(starts_at__gt=since, starts_at__lte=now)
    ended = Entitlement.filter(ends_at__gt=since - GRACE, ends_at__lte=now)
    ids: list[Any] = [*await began.values_list("user_id", flat=True)]
    ids += await ended.values_list("user_id", flat=True)
    return {int(i) for i in ids}


async def last_run(now: datetime) -> datetime:
    stored = await app_settings.get(LAST_RUN_KEY)
    if not isinstance(stored, str):
        return now - FIRST_LOOKBACK
    return max(datetime.fromisoformat(stored), now - MAX_CATCH_UP) - OVERLAP


async def run_due(now: datetime, since: datetime | None = None) -> Due:
    """One pass of the periodic job: the messages due at `now` and `enforce` for every user
    whose access changed since `since` (default: the last run). Safe to run concurrently."""
    start = since if since is not None else await last_run(now)
    reminders = await send_reminders(now)
    grace = await send_grace(now)
    ended = await send_ended(now, start)
    enforced = 0
    for user_id in sorted(await changed_users(now, start)):
        enforced += bool(await lifecycle.enforce(user_id, now))
    stored = await app_settings.get(LAST_RUN_KEY)
    if not isinstance(stored, str) or datetime.fromisoformat(stored) < now:
        await app_settings.put(LAST_RUN_KEY, now.isoformat())
    return Due(reminders, grace, ended, enforced)


async def enforce_telegram(telegram_id: int, now: datetime) -> lifecycle.Enforced:
    """`lifecycle.enforce` for a user known by Telegram id (an event names them so)."""
    row = await User.get_or_none(telegram_id=telegram_id).only("id")
    if row is None:
        return lifecycle.Enforced()
    return await lifecycle.enforce(row.id, now)
