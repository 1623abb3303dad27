"""The text the Mini App's page shows, from the bot's gettext catalogs, served as JSON so the
page renders in the user's language without a catalog of its own."""

from __future__ import annotations

import html
import re
from functools import cache

from babel.messages.pofile import read_po

from services import app_settings
from services.text.i18n import LANGUAGES, LOCALES_DIR, translator
from services.text.i18n import msgid as _

# Besides every `miniapp.*` message, the page shows these of the chat's own.
SHARED_KEYS: tuple[str, ...] = (
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
    _("signal.closed_tp"),
    _("signal.closed_sl"),
    _("signal.closed_manual"),
)
PAGE_PREFIX = "miniapp."
ENGLISH_CATALOG = LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po"
_TAG = re.compile(r"<[^>]+>")


def language_of(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


@cache
def page_keys() -> tuple[str, ...]:
    """The page's keys: every `miniapp.*` message of the English catalog (the one every key is
    in first), then `SHARED_KEYS`."""
    with ENGLISH_CATALOG.open("rb") as po:
        catalog = read_po(po)
    ours = sorted(
        str(m.id) for m in catalog if isinstance(m.id, str) and m.id.startswith(PAGE_PREFIX)
    )
    return (*ours, *SHARED_KEYS)


def page_strings(language: str) -> dict[str, str]:
    """Every key the page uses, in `language` (English where a translation is missing), as
    plain text: the catalogs hold Telegram HTML (`&amp;`, `<b>`), the page sets text nodes."""
    _t = translator(language_of(language))
    return {key: plain(_t(key)) for key in page_keys()}


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
