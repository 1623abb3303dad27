"""Users: lookup, referrals, languages (registration: `services.users.registration`; role and ban
changes: `services.users.access`). Returns frozen `UserInfo`, never ORM rows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import bus, clock
from models.users import CardStyle, Role, User, UserStatus
from services import audit
from services.billing.entitlements import Access
from services.errors import InvalidInput, NotFound
from services.events import UserChanged
from services.text.numbers import TELEGRAM_ID, looks_numeric, parse_int

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
    access: Access | None = None  # loaded per update (services.users.registration.with_access)
    card_style: CardStyle = CardStyle.FULL  # how signal cards look in their chat

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
        card_style=CardStyle(row.card_style),
    )


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


async def apply_referral(
    user_id: int, code: str, *, now: datetime | None = None
) -> UserInfo | None:
    """Link a newly registered user to the referrer owning `code` (first referral wins).

    Ignored (returns None) for unknown codes, self-referral, an already referred user, and a
    user who registered more than `REFERRAL_WINDOW` ago: a referral rewards bringing someone
    new, not a link an existing user happens to open later.
    """
    moment = now or clock.now()
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
    """Find by Telegram id or @username (case-insensitive). Text that looks like a number is
    an id: refused (InvalidInput) unless it is ASCII digits within Telegram's range."""
    text = query.strip()
    if not text:
        raise InvalidInput("error.user_query_empty")
    if looks_numeric(text):  # an id, checked before the query (ASCII digits, in range)
        row = await User.get_or_none(telegram_id=parse_int(text, TELEGRAM_ID))
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
        raise InvalidInput("error.language_unsupported", language=language[:32])
    row = await User.get(telegram_id=telegram_id)
    row.language = language
    await row.save(update_fields=["language", "updated_at"])
    bus.publish(UserChanged(telegram_id))  # every replica's user cache drops them
    return to_info(row)


async def set_card_style(telegram_id: int, style: str) -> UserInfo:
    """Full cards (the chart photo with its caption) or compact ones (text only) from now on;
    cards already sent follow the new style when they are next edited."""
    try:
        chosen = CardStyle(style)
    except ValueError:
        raise InvalidInput("error.card_style_unknown", style=style[:32]) from None
    row = await User.get(telegram_id=telegram_id)
    row.card_style = chosen
    await row.save(update_fields=["card_style", "updated_at"])
    bus.publish(UserChanged(telegram_id))
    return to_info(row)


async def mark_blocked_bot(telegram_id: int) -> None:
    """The user blocked the bot (403): stop sending to them until they write again."""
    await User.filter(telegram_id=telegram_id, status=UserStatus.ACTIVE).update(
        status=UserStatus.BLOCKED_BOT
    )


async def staff() -> list[tuple[int, Role, str | None]]:
    """(telegram id, role, saved language) of every admin and owner, for their command menus."""
    rows = await User.filter(role__in=[Role.ADMIN, Role.OWNER]).only(
        "telegram_id", "role", "language"
    )
    return [(row.telegram_id, Role(row.role), row.language) for row in rows]


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
        bus.publish(UserChanged(telegram_id))
    return to_info(row)


async def matching(text: str, *, limit: int = 500) -> list[UserInfo]:
    """Users an admin's search names, newest row first (descending primary key, the order a
    keyset cursor pages through): the Telegram id itself when `text` is one, and every user
    whose username, first or last name contains it (case-insensitive); all users without it.
    At most `limit` rows."""
    query = User.all()
    term = text.strip().removeprefix("@")
    if term:
        found = Q(username__icontains=term) | Q(first_name__icontains=term)
        found |= Q(last_name__icontains=term)
        if term.isascii() and term.isdigit() and int(term) <= TELEGRAM_ID.high:
            found |= Q(telegram_id=int(term))
        query = query.filter(found)
    return [to_info(row) for row in await query.order_by("-id").limit(limit)]
