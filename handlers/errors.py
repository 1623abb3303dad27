"""The error router: user-facing errors become their message; anything else an apology.

An unexpected exception gets a short apology with a reference id (the correlation id), the
traceback is logged with that id, and the owners are alerted (rate-limited per error type).
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import metrics
from bot.logs import correlation_id, new_correlation_id
from handlers.render import fmt
from middlewares.i18n import pick_locale
from services.errors import UserFacingError
from services.ops_alerts import OpsAlerts
from services.users import UserInfo

router = Router(name=__name__)
log = logging.getLogger(__name__)


async def _reply(event: ErrorEvent, text: str) -> None:
    """Answer the update that failed (errors run outside the i18n middleware's context)."""
    update = event.update
    if update.callback_query is not None:
        query: CallbackQuery = update.callback_query
        await query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        message: Message = update.message
        await message.answer(text)


@router.errors(ExceptionTypeFilter(UserFacingError))
async def user_facing(
    event: ErrorEvent,
    i18n: I18n,
    user: UserInfo | None = None,
    event_from_user: TgUser | None = None,
) -> None:
    exc = event.exception
    assert isinstance(exc, UserFacingError)  # narrowed by the filter
    with i18n.context(), i18n.use_locale(pick_locale(i18n, user, event_from_user)):
        await _reply(event, fmt(_(exc.key), **exc.params))  # parameters are often typed by users


@router.errors(ExceptionTypeFilter(TelegramBadRequest))
async def bad_request(
    event: ErrorEvent,
    alerts: OpsAlerts,
    i18n: I18n,
    user: UserInfo | None = None,
    event_from_user: TgUser | None = None,
) -> bool | None:
    if "message is not modified" in str(event.exception):
        return True  # the only Telegram error swallowed silently
    return await unexpected(event, alerts, i18n, user, event_from_user)


@router.errors()
async def unexpected(
    event: ErrorEvent,
    alerts: OpsAlerts,
    i18n: I18n,
    user: UserInfo | None = None,
    event_from_user: TgUser | None = None,
) -> bool:
    ref = correlation_id.get() or new_correlation_id()
    exc = event.exception
    metrics.ERRORS.labels("handler").inc()
    log.error(
        "unhandled error in handler",
        exc_info=exc,
        extra={"ref": ref, "update_id": event.update.update_id},
    )
    try:
        with i18n.context(), i18n.use_locale(pick_locale(i18n, user, event_from_user)):
            await _reply(event, _("error.unexpected").format(ref=ref))
    except Exception:  # the apology itself failed: already logged above
        log.warning("could not send the apology", extra={"ref": ref}, exc_info=True)
    await alerts.alert(
        f"handler:{type(exc).__name__}",
        f"⚠️ {type(exc).__name__} in a handler (ref {ref}): {str(exc)[:300]}",
    )
    return True
