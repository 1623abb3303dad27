"""Access changes: roles (owners, or the operator's shell) and bans (admins), each told to the
user it concerns.

A change, its audit row and the notice to the user commit together. The notice goes through the
outbox in the user's saved language and says what changed for them (promoted, demoted, banned,
unbanned); it is an `ACCOUNT` notice, so it reaches even a banned user. The user's queue
follows: on a promotion to the paid tier their pending free summaries fall due at once, and the
sender swaps each for the full card while its signal is open (services/outbox/audience.py);
rows meant for an audience the user has left are skipped or swapped when their turn comes.

Every process drops its cached copy of the user at once: the handler invalidates its own cache,
PostgreSQL's trigger tells the other replicas (migration 0006), and on SQLite the app notices a
CLI's write through `PRAGMA data_version` (core/db_changes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import bus
from models.users import Role, User, UserStatus
from services import audit
from services.errors import InvalidInput, NoChange, PermissionDenied
from services.events import UserChanged
from services.outbox import notifications as outbox
from services.outbox.kinds import AccessChange, AccessNotice
from services.text import vocabulary
from services.users import entitlements
from services.users.entitlements import Audience, Tier
from services.users.profiles import ASSIGNABLE_ROLES, UserInfo, find, get_by_telegram_id


@dataclass(frozen=True, slots=True)
class Shell:
    """The operator at the server's shell (`python -m bot users ...`): may do what an owner
    may; audited with no actor id and `via="cli"`."""


SHELL = Shell()
Actor = UserInfo | Shell
FREE_KINDS = ("signal.free",)


def _actor_id(actor: Actor) -> int | None:
    return None if isinstance(actor, Shell) else actor.telegram_id


def _via(actor: Actor) -> dict[str, str]:
    return {"via": "cli"} if isinstance(actor, Shell) else {}


async def set_role(actor: Actor, query: str, role_name: str) -> UserInfo:
    """Change a user's role (never to or from `owner`: owners come from OWNER_IDS).

    `role_name` is any word the bot prints for a role, in any shipped language ("visitor",
    "suscriptor", "гость"), or its stored name ("public"): `vocabulary.parse_role`. Setting
    the role a user already has raises NoChange (nothing recorded, nobody told)."""
    if not isinstance(actor, Shell) and actor.role is not Role.OWNER:
        raise PermissionDenied("error.owner_only")
    role = vocabulary.parse_role(role_name)
    if role is None or role not in ASSIGNABLE_ROLES:
        raise InvalidInput("error.role_unknown", role=role_name[:32])
    target = await find(query)
    if target.role is Role.OWNER:
        raise PermissionDenied("error.role_owner_fixed")
    if target.role is role:
        raise NoChange(
            "admin.role_unchanged", name=target.display_name, role=vocabulary.role(role)
        )
    async with outbox.transaction():
        await User.filter(id=target.id).update(role=role)
        bus.publish(UserChanged(target.telegram_id))  # after the commit: every user cache
        entry = await audit.record(
            "user.role_changed", actor_id=_actor_id(actor), target=str(target.telegram_id),
            old=target.role.value, new=role.value, **_via(actor),
        )  # fmt: skip
        if not target.is_banned:  # the banned hear it on unban
            await _tell(target, _role_notice(target.role, role), entry.id, role=role)
            if entitlements.tier(target) is Tier.FREE and role.at_least(Role.SUBSCRIBER):
                await outbox.due_now(target.telegram_id, FREE_KINDS)
    return await get_by_telegram_id(target.telegram_id)


async def set_banned(actor: Actor, query: str, *, banned: bool) -> UserInfo:
    """Admins ban/unban users below their own role (the shell: anyone but an owner); a banned
    user's updates are ignored and nothing but this notice is sent to them."""
    target = await find(query)
    if not _may_ban(actor, target):
        raise PermissionDenied("error.cannot_ban")
    if banned and target.is_banned:
        raise NoChange("admin.already_banned", name=target.display_name)
    if not banned and not target.is_banned:
        raise NoChange("admin.not_banned", name=target.display_name)
    status = UserStatus.BANNED if banned else UserStatus.ACTIVE
    async with outbox.transaction():
        await User.filter(id=target.id).update(status=status)
        bus.publish(UserChanged(target.telegram_id))  # after the commit: every user cache
        entry = await audit.record(
            "user.banned" if banned else "user.unbanned", actor_id=_actor_id(actor),
            target=str(target.telegram_id), **_via(actor),
        )  # fmt: skip
        if banned:
            await _tell(target, "access.banned", entry.id, role=target.role)
        else:
            await _tell(target, "access.unbanned", entry.id, role=target.role)
    return await get_by_telegram_id(target.telegram_id)


def _may_ban(actor: Actor, target: UserInfo) -> bool:
    if isinstance(actor, Shell):
        return target.role is not Role.OWNER
    if target.telegram_id == actor.telegram_id or not actor.role.at_least(Role.ADMIN):
        return False
    return not target.role.at_least(actor.role)


def _role_notice(old: Role, new: Role) -> AccessChange:
    if new.rank > old.rank:
        return "access.promoted_admin" if new is Role.ADMIN else "access.promoted_subscriber"
    if new is Role.PUBLIC:
        return "access.demoted_public"
    return "access.demoted_subscriber"


async def _tell(target: UserInfo, change: AccessChange, change_id: int, *, role: Role) -> None:
    """Queue the notice of one change (keyed by its audit row) in the user's language."""
    notice = AccessNotice(change, target.language, role)
    await outbox.enqueue(
        target.telegram_id, notice, f"access:{target.telegram_id}:{change_id}",
        user_id=target.telegram_id, priority=1, audience=Audience.ACCOUNT,
    )  # fmt: skip
