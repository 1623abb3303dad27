"""Users: registration, lookup, roles and bans. Returns frozen `UserInfo`, never ORM rows."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.users import Role, User, UserStatus
from services import audit
from services.batching import Batcher
from services.errors import InvalidInput, NotFound, PermissionDenied

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "es", "ru")
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud safely
ASSIGNABLE_ROLES: tuple[Role, ...] = (Role.PUBLIC, Role.SUBSCRIBER, Role.ADMIN)
REFERRAL_WINDOW = timedelta(hours=1)  # a deep link counts this long after the first contact


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    telegram_id: int
    username: str | None
    first_name: str
    last_name: str | None
    language: str | None
    role: Role
    status: UserStatus
    referral_code: str
    referred_by_id: int | None
    created_at: datetime

    @property
    def display_name(self) -> str:
        if self.username:
            return f"@{self.username}"
        return " ".join(p for p in (self.first_name, self.last_name) if p) or str(self.telegram_id)

    @property
    def is_banned(self) -> bool:
        return self.status is UserStatus.BANNED


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    """What Telegram tells us about a user on every update."""

    telegram_id: int
    username: str | None
    first_name: str
    last_name: str | None
    language_code: str | None


def to_info(row: User) -> UserInfo:
    return UserInfo(
        id=row.id,
        telegram_id=row.telegram_id,
        username=row.username,
        first_name=row.first_name,
        last_name=row.last_name,
        language=row.language,
        role=Role(row.role),
        status=UserStatus(row.status),
        referral_code=row.referral_code,
        referred_by_id=row.referred_by_id,  # type: ignore[attr-defined]
        created_at=row.created_at,
    )


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


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
    return await _lookups.submit((profile, owners))


async def _ensure_batch(items: Sequence[tuple[TelegramProfile, frozenset[int]]]) -> list[UserInfo]:
    ids = list({profile.telegram_id for profile, _ in items})
    rows = {row.telegram_id: row for row in await User.filter(telegram_id__in=ids)}
    new = {p.telegram_id: (p, owners) for p, owners in items if p.telegram_id not in rows}
    created = await _register(list(new.values())) if new else {}
    out = []
    for profile, owners in items:
        row = rows.get(profile.telegram_id)
        out.append(
            created[profile.telegram_id] if row is None else await _refresh(row, profile, owners)
        )
    return out


_lookups: Batcher[tuple[TelegramProfile, frozenset[int]], UserInfo] = Batcher(
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
                 "referral_code", "created_at", "updated_at")  # fmt: skip


async def _register(new: Sequence[tuple[TelegramProfile, frozenset[int]]]) -> dict[int, UserInfo]:
    """Insert first contacts with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``:
    a single atomic statement, so SQLite's one writer is held for one round trip, not for a
    transaction. Rows it skipped (created meanwhile by another update, or the rare
    referral-code collision) go through `_create`, which re-reads or retries."""
    now = datetime.now(UTC)
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
                  i.status.value, i.referral_code, now, now)
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
            out[profile.telegram_id] = replace(infos[profile.telegram_id], id=row_id)
    return out


async def _create(profile: TelegramProfile, *, owners: frozenset[int]) -> UserInfo:
    role = Role.OWNER if profile.telegram_id in owners else Role.PUBLIC
    for _ in range(5):
        existing = await User.get_or_none(telegram_id=profile.telegram_id)
        if existing is not None:  # another update of the same user won the race
            return to_info(existing)
        try:
            row = await User.create(
                telegram_id=profile.telegram_id,
                username=profile.username,
                first_name=profile.first_name,
                last_name=profile.last_name,
                role=role,
                referral_code=new_referral_code(),
            )
            return to_info(row)
        except IntegrityError:  # the user was created meanwhile, or the code collided
            continue
    msg = "could not allocate a unique referral code"
    raise RuntimeError(msg)


async def apply_referral(
    user_id: int, code: str, *, now: datetime | None = None
) -> UserInfo | None:
    """Link a newly registered user to the referrer owning `code` (first referral wins).

    Ignored (returns None) for unknown codes, self-referral, an already referred user, and a
    user who registered more than `REFERRAL_WINDOW` ago: a referral rewards bringing someone
    new, not a link an existing user happens to open later.
    """
    moment = now or datetime.now(UTC)
    async with in_transaction():
        row = await User.get(id=user_id)
        if row.referred_by_id is not None:  # type: ignore[attr-defined]
            return None
        if moment - row.created_at > REFERRAL_WINDOW:
            return None
        referrer = await User.get_or_none(referral_code=code.upper())
        if referrer is None or referrer.id == row.id:
            return None
        row.referred_by_id = referrer.id
        await row.save(update_fields=["referred_by_id", "updated_at"])
        await audit.record(
            "user.referred", actor_id=row.telegram_id, target=str(referrer.telegram_id), code=code
        )
        return to_info(referrer)


async def get_by_telegram_id(telegram_id: int) -> UserInfo:
    row = await User.get_or_none(telegram_id=telegram_id)
    if row is None:
        raise NotFound("error.user_not_found", query=str(telegram_id))
    return to_info(row)


async def find(query: str) -> UserInfo:
    """Find by Telegram id or @username (case-insensitive)."""
    text = query.strip()
    if not text:
        raise InvalidInput("error.user_query_empty")
    if text.lstrip("-").isdigit():
        row = await User.get_or_none(telegram_id=int(text))
    else:
        row = await User.get_or_none(username__iexact=text.removeprefix("@"))
    if row is None:
        raise NotFound("error.user_not_found", query=text)
    return to_info(row)


async def search(text: str, limit: int = 10) -> list[UserInfo]:
    """Users whose username or first name contains `text` (for the /users list)."""
    query = User.all()
    if text:
        term = text.removeprefix("@")
        query = query.filter(Q(username__icontains=term) | Q(first_name__icontains=term))
    query = query.order_by("-created_at").limit(limit)
    return [to_info(row) for row in await query]


async def count_by_role() -> dict[Role, int]:
    counts = dict.fromkeys(Role, 0)
    for row in await User.all().only("role"):
        counts[Role(row.role)] += 1
    return counts


async def set_language(telegram_id: int, language: str) -> UserInfo:
    if language not in SUPPORTED_LANGUAGES:
        raise InvalidInput("error.language_unsupported", language=language)
    row = await User.get(telegram_id=telegram_id)
    row.language = language
    await row.save(update_fields=["language", "updated_at"])
    return to_info(row)


async def set_role(actor: UserInfo, query: str, role_name: str) -> UserInfo:
    """Owner-only: change a user's role (never to or from `owner`: owners come from OWNER_IDS)."""
    if actor.role is not Role.OWNER:
        raise PermissionDenied("error.owner_only")
    try:
        role = Role(role_name.strip().lower())
    except ValueError:
        raise InvalidInput("error.role_unknown", role=role_name) from None
    if role not in ASSIGNABLE_ROLES:
        raise InvalidInput("error.role_unknown", role=role_name)
    target = await find(query)
    if target.role is Role.OWNER:
        raise PermissionDenied("error.role_owner_fixed")
    async with in_transaction():
        await User.filter(id=target.id).update(role=role)
        await audit.record(
            "user.role_changed",
            actor_id=actor.telegram_id,
            target=str(target.telegram_id),
            old=target.role.value,
            new=role.value,
        )
    return await get_by_telegram_id(target.telegram_id)


async def set_banned(actor: UserInfo, query: str, *, banned: bool) -> UserInfo:
    """Admins ban/unban users below their own role; a banned user's updates are ignored."""
    target = await find(query)
    if target.telegram_id == actor.telegram_id or not actor.role.at_least(Role.ADMIN):
        raise PermissionDenied("error.cannot_ban")
    if target.role.at_least(actor.role):
        raise PermissionDenied("error.cannot_ban")
    status = UserStatus.BANNED if banned else UserStatus.ACTIVE
    async with in_transaction():
        await User.filter(id=target.id).update(status=status)
        await audit.record(
            "user.banned" if banned else "user.unbanned",
            actor_id=actor.telegram_id,
            target=str(target.telegram_id),
        )
    return await get_by_telegram_id(target.telegram_id)


async def mark_blocked_bot(telegram_id: int) -> None:
    """The user blocked the bot (403): stop sending to them until they write again."""
    await User.filter(telegram_id=telegram_id, status=UserStatus.ACTIVE).update(
        status=UserStatus.BLOCKED_BOT
    )


async def staff() -> list[tuple[int, Role]]:
    """(telegram id, role) of every admin and owner, for their command menus."""
    rows = await User.filter(role__in=[Role.ADMIN, Role.OWNER]).only("telegram_id", "role")
    return [(row.telegram_id, Role(row.role)) for row in rows]


async def seed(telegram_id: int, first_name: str, username: str | None, role: Role) -> UserInfo:
    """Create or update a user with a given role (sandbox personas, operator CLI)."""
    row = await User.get_or_none(telegram_id=telegram_id)
    if row is None:
        row = await User.create(
            telegram_id=telegram_id,
            first_name=first_name,
            username=username,
            role=role,
            referral_code=new_referral_code(),
        )
    elif row.role != role:
        row.role = role
        await row.save(update_fields=["role", "updated_at"])
    return to_info(row)
