"""The error router: user-facing errors become their message; anything else an apology.

An unexpected exception gets a short apology with a reference id (the correlation id), the
traceback is logged with that id, and the owners are alerted (rate-limited per error type).
An error's parameters are often what the user typed (a @username, a role, a price): they are
escaped like any other value (`fmt`). This router never raises: if Telegram refuses a reply
(say, "can't parse entities"), the same text goes again as plain text; if that fails too, it is
logged.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from core import metrics
from core.logs import correlation_id, new_correlation_id
from handlers.render import as_plain_text, fmt
from services.errors import UserFacingError
from services.ops_alerts import HANDLER_ERROR, OpsAlerts
from services.text.formatting import phrase
from services.text.i18n import pick_locale
from services.users.profiles import UserInfo

router = Router(name=__name__)
log = logging.getLogger(__name__)
ALERT_MAX = 200  # Telegram's limit for a callback query's alert


async def _reply(event: ErrorEvent, html_text: str) -> None:
    """Answer the failed update; a refused HTML text goes again as plain text. Never raises."""
    update = event.update
    try:
        if update.callback_query is not None:  # alerts are plain text: never parsed as HTML
            await update.callback_query.answer(
                as_plain_text(html_text)[:ALERT_MAX], show_alert=True
            )
        elif update.message is not None:
            try:
                await update.message.answer(html_text)
            except TelegramBadRequest as exc:
                log.warning("error reply refused, resent as plain text", extra={"error": str(exc)})
                await update.message.answer(as_plain_text(html_text), parse_mode=None)
    except Exception:
        log.warning("could not send the error reply", exc_info=True)


@router.errors(ExceptionTypeFilter(UserFacingError))
async def user_facing(
    event: ErrorEvent,
    alerts: OpsAlerts,
    i18n: I18n,
    user: UserInfo | None = None,
    event_from_user: TgUser | None = None,
) -> bool:
    exc = event.exception
    assert isinstance(exc, UserFacingError)  # narrowed by the filter
    with (
        i18n.context(),
        i18n.use_locale(pick_locale(i18n.available_locales, user, event_from_user)),
    ):
        try:
            text = fmt(_(exc.key), **exc.params)
        except (KeyError, IndexError, ValueError):  # a catalog entry and its raiser disagree
            return await unexpected(event, alerts, i18n, user, event_from_user)
        await _reply(event, text)
    return True


@router.errors(ExceptionTypeFilter(TelegramBadRequest))
async def bad_request(
    event: ErrorEvent,
    alerts: OpsAlerts,
    i18n: I18n,
    user: UserInfo | None = None,
    event_from_user: TgUser | None = None,
) -> bool:
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
    with (
        i18n.context(),
        i18n.use_locale(pick_locale(i18n.available_locales, user, event_from_user)),
    ):
        await _reply(event, fmt(_("error.unexpected"), ref=ref))
    await alerts.alert(  # plain text (parse_mode=None), in each owner's language; never raises
        f"handler:{type(exc).__name__}",
        phrase(HANDLER_ERROR, error_type=type(exc).__name__, ref=ref, error=str(exc)[:300]),
    )
    return True
