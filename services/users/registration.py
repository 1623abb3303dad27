"""Registration: every update's user loaded or created, concurrent ones sharing their queries.

On SQLite one connection serves every query and a transaction holds it for all its round trips,
so a first contact is one statement: concurrent cache misses share one SELECT, the new users
among them one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, and a database trigger writes
each `user.registered` audit row inside that statement (migration 0004).

`ensure_contact` also says whether this update was the user's first contact: a deep link
(`/start ref_CODE`) counts only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tortoise import connections
from tortoise.exceptions import IntegrityError

from core import clock
from models.users import Role, User, UserStatus
from services.batching import Batcher
from services.billing import entitlements as billing
from services.users.profiles import TelegramProfile, UserInfo, new_referral_code, to_info


@dataclass(frozen=True, slots=True)
class Contact:
    """The user behind an update, and whether this update registered them."""

    user: UserInfo
    first_contact: bool


def _profile_changed(row: User, profile: TelegramProfile) -> bool:
    return (row.username, row.first_name, row.last_name) != (
        profile.username,
        profile.first_name,
        profile.last_name,
    )


async def ensure_user(profile: TelegramProfile, *, owners: frozenset[int]) -> UserInfo:
    """Load the user, creating the row on first contact; owners from OWNER_IDS get `owner`.

    Concurrent calls share their queries: one SELECT for all of them, then one INSERT for the
    new users among them (the database adds each one's `user.registered` audit row in the same
    statement: migration 0004). A known, unchanged user costs a share of one query.
    """
    return (await _lookups.submit((profile, owners))).user


async def with_access(
    info: UserInfo, now: datetime | None = None, *, first_contact: bool = False
) -> UserInfo:
    """`info` with its `Access` at `now` (services.billing.entitlements.access_for).

    A user registered by this very update (`first_contact`) can hold no entitlement yet (its
    rows reference the user row just inserted), so its access follows from its role alone,
    without a query: registering stays one statement on the hot path.
    """
    moment = now or clock.now()
    if first_contact:
        complimentary = Role(info.role).at_least(Role.SUBSCRIBER)
        return replace(info, access=billing.resolve([], moment, complimentary))
    return replace(info, access=await billing.access_for(info.id, moment, role=info.role))


async def ensure_contact(profile: TelegramProfile, *, owners: frozenset[int]) -> Contact:
    """`ensure_user`, and whether this call registered the user (their first contact; of
    concurrent first updates of one user, only one is)."""
    return await _lookups.submit((profile, owners))


async def _ensure_batch(items: Sequence[tuple[TelegramProfile, frozenset[int]]]) -> list[Contact]:
    ids = list({profile.telegram_id for profile, _ in items})
    rows = {row.telegram_id: row for row in await User.filter(telegram_id__in=ids)}
    new = {p.telegram_id: (p, owners) for p, owners in items if p.telegram_id not in rows}
    created = await _register(list(new.values())) if new else {}
    out = []
    answered: set[int] = set()  # a new user's second update in this batch is not the first
    for profile, owners in items:
        tid = profile.telegram_id
        row = rows.get(tid)
        if row is not None:
            out.append(Contact(await _refresh(row, profile, owners), first_contact=False))
            continue
        info, made = created[tid]
        out.append(Contact(info, first_contact=made and tid not in answered))
        answered.add(tid)
    return out


_lookups: Batcher[tuple[TelegramProfile, frozenset[int]], Contact] = Batcher(
    _ensure_batch, max_size=200, name="users"
)


async def _refresh(row: User, profile: TelegramProfile, owners: frozenset[int]) -> UserInfo:
    """Save what changed since we last saw the user: their Telegram profile, ownership from
    OWNER_IDS, and `blocked_bot` (writing to us means they unblocked us)."""
    changed = _profile_changed(row, profile)
    should_own = profile.telegram_id in owners and row.role != Role.OWNER
    came_back = row.status == UserStatus.BLOCKED_BOT
    if changed or should_own or came_back:
        row.username, row.first_name, row.last_name = (
            profile.username,
            profile.first_name,
            profile.last_name,
        )
        if should_own:
            row.role = Role.OWNER
        if came_back:
            row.status = UserStatus.ACTIVE
        await row.save(
            update_fields=["username", "first_name", "last_name", "role", "status", "updated_at"]
        )
    return to_info(row)


_USER_COLUMNS = ("telegram_id", "username", "first_name", "last_name", "role", "status",
                 "referral_code", "card_style", "created_at", "updated_at")  # fmt: skip


async def _register(
    new: Sequence[tuple[TelegramProfile, frozenset[int]]],
) -> dict[int, tuple[UserInfo, bool]]:
    """Insert first contacts with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``:
    a single atomic statement, so SQLite's one writer is held for one round trip, not for a
    transaction. Rows it skipped (created meanwhile by another update, or the rare
    referral-code collision) go through `_create`, which re-reads or retries. Each user comes
    with whether this call created them."""
    now = clock.now()
    infos = {
        p.telegram_id: UserInfo(
            id=0, telegram_id=p.telegram_id, username=p.username, first_name=p.first_name,
            last_name=p.last_name, language=None,
            role=Role.OWNER if p.telegram_id in owners else Role.PUBLIC,
            status=UserStatus.ACTIVE, referral_code=new_referral_code(), referred_by_id=None,
            created_at=now,
        )
        for p, owners in new
    }  # fmt: skip
    conn = connections.get("default")
    width = len(_USER_COLUMNS)
    if conn.capabilities.dialect == "postgres":
        marks = [
            ", ".join(f"${r * width + c}" for c in range(1, width + 1)) for r in range(len(infos))
        ]
    else:
        marks = [", ".join("?" * width)] * len(infos)
    columns = ", ".join(f'"{c}"' for c in _USER_COLUMNS)
    values = ", ".join(f"({m})" for m in marks)
    sql = (
        f'INSERT INTO "users" ({columns}) VALUES {values} '
        'ON CONFLICT DO NOTHING RETURNING "id", "telegram_id"'
    )
    params = [
        v
        for i in infos.values()
        for v in (i.telegram_id, i.username, i.first_name, i.last_name, i.role.value,
                  i.status.value, i.referral_code, i.card_style.value, now, now)
    ]  # fmt: skip
    inserted = {
        int(r["telegram_id"]): int(r["id"]) for r in await conn.execute_query_dict(sql, params)
    }
    out = {}
    for profile, owners in new:
        row_id = inserted.get(profile.telegram_id)
        if row_id is None:
            out[profile.telegram_id] = await _create(profile, owners=owners)
        else:
            out[profile.telegram_id] = (replace(infos[profile.telegram_id], id=row_id), True)
    return out


async def _create(profile: TelegramProfile, *, owners: frozenset[int]) -> tuple[UserInfo, bool]:
    role = Role.OWNER if profile.telegram_id in owners else Role.PUBLIC
    for _ in range(5):
        existing = await User.get_or_none(telegram_id=profile.telegram_id)
        if existing is not None:  # another update of the same user won the race
            return to_info(existing), False
        try:
            row = await User.create(
                telegram_id=profile.telegram_id,
                username=profile.username,
                first_name=profile.first_name,
                last_name=profile.last_name,
                role=role,
                referral_code=new_referral_code(),
            )
            return to_info(row), True
        except IntegrityError:  # the user was created meanwhile, or the code collided
            continue
    msg = "could not allocate a unique referral code"
    raise RuntimeError(msg)
