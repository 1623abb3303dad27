"""The user aggregate: one row per Telegram user who ever talked to the bot."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    """Roles in increasing order of power: each one may do everything the previous may."""

    PUBLIC = "public"
    SUBSCRIBER = "subscriber"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


ROLE_ORDER: tuple[Role, ...] = (Role.PUBLIC, Role.SUBSCRIBER, Role.ADMIN, Role.OWNER)


class UserStatus(StrEnum):
    ACTIVE = "active"
    BANNED = "banned"
    BLOCKED_BOT = "blocked_bot"  # the user blocked us: sends fail with 403


class CardStyle(StrEnum):
    """How signal cards look in the user's chat: the chart photo with its caption, or text only."""

    FULL = "full"
    COMPACT = "compact"


class User(Model):
    id = fields.BigIntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    username = fields.CharField(max_length=64, null=True, db_index=True)
    first_name = fields.CharField(max_length=128, default="")
    last_name = fields.CharField(max_length=128, null=True)
    language = fields.CharField(max_length=8, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.PUBLIC)
    status = fields.CharEnumField(UserStatus, max_length=16, default=UserStatus.ACTIVE)
    card_style = fields.CharEnumField(
        CardStyle, max_length=8, default=CardStyle.FULL, db_default=CardStyle.FULL.value
    )
    referral_code = fields.CharField(max_length=16, unique=True)
    referred_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="referrals", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"
