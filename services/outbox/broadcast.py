"""Broadcasts: one text from an admin to an audience of users, queued through the outbox.

An audience is everyone we may write to (`all`: not banned, not having blocked the bot), the
paid or the free tier (`services.users.entitlements.tier`, from each user's access now), or
the holders of one plan (their access's plan, complimentary access included: the `starter`
plan). It is counted and resolved when the broadcast is sent; each row is then an `ACTIVE`
notice, so a user banned before their turn is skipped by the sender.

The text goes out as plain text (no parse mode: what the admin typed is what users read), so
the preview is the text itself. Idempotency: the caller's key names the broadcast; every row's
dedupe key is ``broadcast:<key>:<chat id>``, so a repeated request (a double tap, a retry after
a lost answer) finds the rows of the first and queues nothing, and two racing requests can never
queue the same chat twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from models.notifications import Notification
from models.users import Role, User, UserStatus
from services import audit
from services.billing import catalog
from services.billing import entitlements as billing
from services.errors import InvalidInput
from services.outbox import notifications as outbox
from services.outbox.kinds import TELEGRAM_TEXT_MAX, PlainText, render
from services.users import entitlements
from services.users.entitlements import Audience, Tier

PRIORITY = 8  # after signals and account notices (lower first)
KEY_PREFIX = "broadcast"


class Reach(StrEnum):
    ALL = "all"
    PAID = "paid"
    FREE = "free"
    PLAN = "plan"


@dataclass(frozen=True, slots=True)
class Target:
    """Who a broadcast is for: `plan` names the plan when `reach` is `PLAN`."""

    reach: Reach
    plan: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """A broadcast's outcome: `recipients` counted, `queued` rows new by this request
    (0 for a repeated key), `repeated`: the key had been sent already."""

    recipients: int
    queued: int
    repeated: bool


def message(body: str) -> PlainText:
    """The notice each recipient gets (plain text, sent as typed)."""
    return PlainText(body=check_text(body), parse_mode=None)


def check_text(body: str) -> str:
    text = body.strip()
    if not text:
        raise InvalidInput("miniapp.admin_error_broadcast_empty")
    if len(text) > TELEGRAM_TEXT_MAX:
        raise InvalidInput("miniapp.admin_error_broadcast_long", max=TELEGRAM_TEXT_MAX)
    return text


def preview(body: str) -> str:
    """The message's text exactly as the chat will show it."""
    return str(render(message(body))["text"])


async def check_target(target: Target) -> Target:
    """`target` with its plan checked against the catalog (InvalidInput names the known)."""
    if target.reach is not Reach.PLAN:
        return Target(target.reach)
    code = (target.plan or "").strip().lower()
    if not code or await catalog.offer(code) is None:
        known = ", ".join(o.code for o in await catalog.offers())
        raise InvalidInput("error.plan_unknown", plan=(target.plan or "")[:32], known=known)
    return Target(Reach.PLAN, code)


async def recipients(target: Target, now: datetime) -> list[int]:
    """Telegram ids of the users `target` reaches at `now`, in registration order."""
    target = await check_target(target)
    rows = (
        await User.filter(status=UserStatus.ACTIVE)
        .order_by("id")
        .values_list("id", "telegram_id", "role")
    )
    if target.reach is Reach.ALL:
        return [int(telegram_id) for _pk, telegram_id, _role in rows]
    roles = {int(pk): Role(role) for pk, _tid, role in rows}
    accesses = await billing.access_for_many(roles, now)
    out = []
    for pk, telegram_id, role in rows:
        access = accesses[int(pk)]
        if target.reach is Reach.PLAN:
            if access.plan == target.plan:
                out.append(int(telegram_id))
            continue
        reader = entitlements.Standing(Role(role), UserStatus.ACTIVE, access)
        tier = Tier.PAID if target.reach is Reach.PAID else Tier.FREE
        if entitlements.tier(reader) is tier:
            out.append(int(telegram_id))
    return out


def _dedupe(key: str, chat_id: int) -> str:
    return f"{KEY_PREFIX}:{key}:{chat_id}"


async def _already_sent(key: str) -> int:
    return await Notification.filter(dedupe_key__startswith=f"{KEY_PREFIX}:{key}:").count()


async def send(actor_id: int, target: Target, body: str, key: str, now: datetime) -> Sent:
    """Queue `body` for every user `target` reaches, once per `key` (see the module);
    audited as `broadcast.sent` with the audience, its size and the text."""
    notice = message(body)
    target = await check_target(target)
    async with outbox.transaction():
        earlier = await _already_sent(key)
        if earlier:
            return Sent(recipients=earlier, queued=0, repeated=True)
        chats = await recipients(target, now)
        queued = await outbox.enqueue_many(
            outbox.Outgoing(
                chat_id,
                notice,
                _dedupe(key, chat_id),
                user_id=chat_id,
                priority=PRIORITY,
                audience=Audience.ACTIVE,
            )  # fmt: skip
            for chat_id in chats
        )
        if queued:
            await audit.record(
                "broadcast.sent", actor_id=actor_id, target=key, audience=target.reach.value,
                plan=target.plan, recipients=len(chats), text=notice.body,
            )  # fmt: skip
    return Sent(recipients=len(chats), queued=queued, repeated=False)
