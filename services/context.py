"""What the dispatcher injects into handlers, beyond aiogram's own keys: listed here once.

`AppDeps` is built once by the assembly (`bot.app.create_dispatcher`, as Dispatcher workflow
data); `UpdateContext` is added per update by the middlewares (`middlewares.data` reads and
writes it typed). aiogram's keys (`bot`, `state`, `event_from_user`, `i18n`, ...) stay in
aiogram's `MiddlewareData`/`I18nData`. Here, not in `bot` or an adapter, because handlers and
middlewares both read it and may import neither each other nor `bot`; and it holds only
services and core types (services import no aiogram). tests/handlers/test_injected.py checks
that every key is set and that every injected handler parameter is one of these keys.
"""

from __future__ import annotations

from typing import TypedDict

from core.settings import Settings
from services.billing.stripe_billing import StripeBilling
from services.billing.vip import VipTelegram
from services.ops_alerts import OpsAlerts
from services.users.cache import UserCache
from services.users.profiles import UserInfo


class AppDeps(TypedDict):
    """Workflow data set on the Dispatcher once (`Dispatcher(**deps)`)."""

    settings: Settings
    alerts: OpsAlerts
    user_cache: UserCache
    vip: VipTelegram  # the VIP chat's Telegram port (bot/vip_port.py)
    stripe_billing: StripeBilling | None  # card payments (None: no Stripe keys); e.g. /refund


class UpdateContext(TypedDict, total=False):
    """Added per update by the middlewares."""

    correlation_id: str  # middlewares/correlation.py
    user: UserInfo  # middlewares/users.py: absent for a bot or an update without a sender
    first_contact: bool  # this update registered the user (middlewares/users.py)


class InjectedData(AppDeps, UpdateContext):
    """Everything this application adds to a handler's data."""
