"""The one place that decides what a user may receive and do.

Plans and payments feed this later; until then role `subscriber` (or above) means paid.
"""

from __future__ import annotations

from enum import StrEnum

from models.users import Role, UserStatus
from services.users import UserInfo


class Tier(StrEnum):
    FREE = "free"  # delayed, levels-free summaries
    PAID = "paid"  # real-time signals with levels, approvals, execution


def tier(user: UserInfo) -> Tier:
    return Tier.PAID if user.role.at_least(Role.SUBSCRIBER) else Tier.FREE


def can_receive(user: UserInfo) -> bool:
    """Whether anything may be sent to the user at all."""
    return user.status is UserStatus.ACTIVE


def can_trade_signals(user: UserInfo) -> bool:
    """Approve/reject signals and have terminals execute them."""
    return can_receive(user) and tier(user) is Tier.PAID
