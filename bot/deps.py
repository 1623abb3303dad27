"""What the dispatcher injects into handlers: built once in `bot.app`, listed here once."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

    from core.settings import Settings
    from services.ops_alerts import OpsAlerts
    from services.users.cache import UserCache
    from services.users.profiles import UserInfo


class AppDeps(TypedDict):
    """Workflow data set on the Dispatcher (`dp["settings"]`, ...)."""

    settings: Settings
    i18n: I18n
    alerts: OpsAlerts
    user_cache: UserCache


class UpdateData(AppDeps, total=False):
    """Added per update by middlewares."""

    user: UserInfo
    first_contact: bool  # this update registered the user (middlewares/users.py)
    correlation_id: str
