"""The one place that decides what a user may receive and do.

Every answer comes from the user's `Access` (`services.billing.entitlements`: what they paid for
or were granted; roles stay permissions). Every question is asked about the user as they are now:
handlers pass the user loaded for the update with its access (the user cache drops a user as
soon as their role or status changes, in any process, and when their access period ends), and
the outbox sender asks again, from the database, just before each message goes out (`Audience`).
A subject without a loaded access (a row, an old `UserInfo`) answers by the complimentary rule:
role subscriber or above has `COMPLIMENTARY` access.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from models.users import Role, UserStatus
from services.billing.catalog import Feature
from services.billing.entitlements import COMPLIMENTARY, FREE, Access


class Subject(Protocol):
    """What access depends on: a `UserInfo`, or a user row."""

    @property
    def role(self) -> Role: ...

    @property
    def status(self) -> UserStatus: ...


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's role and status as stored, for questions asked outside an update."""

    role: Role
    status: UserStatus
    access: Access | None = None


class Tier(StrEnum):
    FREE = "free"  # delayed, levels-free summaries
    PAID = "paid"  # real-time signals with levels, approvals, execution


class Audience(StrEnum):
    """Who a notification is meant for; stored with each outbox row and checked at send time."""

    ACCOUNT = "account"  # notices about the account itself (role, ban): sent whatever its state
    ACTIVE = "active"  # anyone we may write to: not banned (their own terminal's fills, ...)
    PAID = "paid"  # real-time signal content: levels, outcomes, approval buttons
    FREE = "free"  # the free tier's delayed summary (a paid user gets the full card instead)


def _role(user: Subject) -> Role:
    return Role(user.role)


def access_of(user: Subject) -> Access:
    """The user's access as loaded with them, else by the complimentary rule."""
    access: Access | None = getattr(user, "access", None)
    if access is not None:
        return access
    return COMPLIMENTARY if _role(user).at_least(Role.SUBSCRIBER) else FREE


def tier(user: Subject) -> Tier:
    return Tier.PAID if access_of(user).has(Feature.REALTIME_LEVELS) else Tier.FREE


def can_receive(user: Subject) -> bool:
    """Whether anything may be sent to the user at all."""
    return UserStatus(user.status) is UserStatus.ACTIVE


def can_trade_signals(user: Subject) -> bool:
    """Approve/reject signals, see their levels and have terminals execute them."""
    return can_receive(user) and access_of(user).has(Feature.APPROVALS)


def can_copy(user: Subject) -> bool:
    """Have terminals in copy mode execute every signal (a Copy plan)."""
    return can_receive(user) and access_of(user).has(Feature.COPY_MODE)


def terminal_limit(user: Subject) -> int:
    """How many terminals (active or paused) the user's plan lets them add themselves."""
    return access_of(user).terminal_limit


def audience_for(user: Subject) -> Audience:
    """The signal audience the user belongs to now (paid or free)."""
    return Audience.PAID if tier(user) is Tier.PAID else Audience.FREE


def admits(audience: Audience, user: Subject) -> bool:
    """Whether a notification meant for `audience` may be sent to `user` now.

    `ACCOUNT` notices reach even a banned user (they say so); a user who blocked the bot is
    refused by Telegram itself (403), whatever we decide here.
    """
    if audience is Audience.ACCOUNT:
        return True
    if not can_receive(user):
        return False
    if audience is Audience.ACTIVE:
        return True
    return audience_for(user) is audience
