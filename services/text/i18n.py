"""Translations for text rendered outside a Telegram update (outbox messages, jobs).

The same compiled catalogs as the bot's `aiogram.utils.i18n`, read with the standard library.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Collection
from functools import lru_cache
from pathlib import Path
from typing import Protocol

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
LANGUAGES: tuple[str, ...] = ("en", "es", "ru")
Translate = Callable[[str], str]


@lru_cache(maxsize=8)
def _catalog(locale: str) -> gettext.NullTranslations:
    return gettext.translation(
        "messages", localedir=LOCALES_DIR, languages=[locale, "en"], fallback=True
    )


def msgid(key: str) -> str:
    """gettext_noop: marks a message id (import it as `_`) for the catalog checks in
    tests/handlers/test_i18n.py, for text translated later in each recipient's language."""
    return key


def translator(locale: str | None) -> Translate:
    """`_` for `locale` (falls back to English, then to the message id itself)."""
    return _catalog(locale if locale in LANGUAGES else "en").gettext


NGettext = Callable[[str, str, int], str]


def ngettext(locale: str | None) -> NGettext:
    """`ngettext` for `locale`: the plural form for n by the catalog's Plural-Forms header."""
    return _catalog(locale if locale in LANGUAGES else "en").ngettext


class _SavedLanguage(Protocol):
    @property
    def language(self) -> str | None: ...


class _TelegramLanguage(Protocol):  # read-only members: frozen models and dataclasses fit
    @property
    def language_code(self) -> str | None: ...


def pick_locale(
    available: Collection[str],
    user: _SavedLanguage | None,
    tg_user: _TelegramLanguage | None,
    default: str = "en",
) -> str:
    """The user's saved language if shipped, else Telegram's `language_code` (its primary
    subtag: "es-MX" -> "es"), else `default`."""
    if user is not None and user.language in available:
        return str(user.language)
    code = (tg_user.language_code or "").split("-")[0] if tg_user else ""
    return code if code in available else default
