"""The text the Mini App's page shows, from the bot's gettext catalogs, served as JSON so the
page renders in the user's language without a catalog of its own."""

from __future__ import annotations

import html
import re

from services import app_settings
from services.text.i18n import LANGUAGES, translator
from services.text.i18n import msgid as _

PAGE_KEYS: tuple[str, ...] = (
    _("miniapp.title"),
    _("miniapp.nav_home"),
    _("miniapp.nav_signals"),
    _("miniapp.loading"),
    _("miniapp.error_open_in_telegram"),
    _("miniapp.home_plan"),
    _("miniapp.home_free"),
    _("miniapp.home_renews"),
    _("miniapp.home_ends"),
    _("miniapp.home_terminals"),
    _("miniapp.home_pending"),
    _("miniapp.home_no_pending"),
    _("miniapp.signals_empty"),
    _("miniapp.signal_entry"),
    _("miniapp.signal_stop"),
    _("miniapp.signal_take_profit"),
    _("miniapp.signal_rr"),
    _("miniapp.signal_expires"),
    _("miniapp.signal_hidden"),
    _("miniapp.signal_chart"),
    _("miniapp.signal_point1"),
    _("miniapp.signal_point2"),
    _("miniapp.decision_approved"),
    _("miniapp.decision_rejected"),
    _("miniapp.decision_none"),
    _("miniapp.upgrade"),
    _("miniapp.consent_title"),
    _("miniapp.back"),
    _("signal.btn_approve"),
    _("signal.btn_reject"),
    _("signal.btn_accept"),
    _("signal.side_buy"),
    _("signal.side_sell"),
    _("signal.status_published"),
    _("signal.status_revised"),
    _("signal.status_filled"),
    _("signal.status_expired"),
    _("signal.status_replaced"),
    _("signal.status_cancelled"),
    _("signal.status_closed"),
)
_TAG = re.compile(r"<[^>]+>")


def language_of(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def page_strings(language: str) -> dict[str, str]:
    """Every key the page uses, in `language` (English where a translation is missing)."""
    _t = translator(language_of(language))
    return {key: _t(key) for key in PAGE_KEYS}


def plain(text: str) -> str:
    """Catalog HTML (bold, italics, links) as plain text for the page's text nodes."""
    return html.unescape(_TAG.sub("", text))


async def disclaimer(language: str | None) -> tuple[str, str]:
    """(version, the risk disclaimer as plain text in `language`): what the chat shows before
    a first approval."""
    version = await app_settings.disclaimer_version()
    text = translator(language_of(language))("signal.disclaimer").format(version=version)
    return version, plain(text)


def plan_name(plan: str | None, language: str | None) -> str | None:
    """A plan's name from the catalogs (`plan.<code>`, as the bot's /plans shows it)."""
    if plan is None:
        return None
    key = f"plan.{plan}"
    name = translator(language_of(language))(key)
    return plan if name == key else name
