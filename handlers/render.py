"""Shared rendering of service results into user-facing text (HTML parse mode)."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from handlers.commands import visible_commands
from models.users import Role
from services.users import UserInfo


def role_name(role: Role) -> str:
    return _(f"role.{role.value}")


def help_text(role: Role) -> str:
    lines = [_("help.title"), ""]
    for spec in visible_commands(role):
        usage = f" {escape(spec.usage)}" if spec.usage else ""
        lines.append(f"/{spec.name}{usage} — {spec.description}")
    return "\n".join(lines)


def user_card(info: UserInfo) -> str:
    return _("admin.user_card").format(
        name=escape(info.display_name),
        id=info.telegram_id,
        role=role_name(info.role),
        status=_(f"status.{info.status.value}"),
        language=info.language or "—",
        since=info.created_at.strftime("%Y-%m-%d"),
        code=info.referral_code,
    )
