"""Translations for text rendered outside a Telegram update (outbox messages, jobs).

The same compiled catalogs as the bot's `aiogram.utils.i18n`, read with the standard library.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES: tuple[str, ...] = ("en", "es", "ru")
Translate = Callable[[str], str]


@lru_cache(maxsize=8)
def _catalog(locale: str) -> gettext.NullTranslations:
    return gettext.translation(
        "messages", localedir=LOCALES_DIR, languages=[locale, "en"], fallback=True
    )


def msgid(key: str) -> str:
    """gettext_noop: marks a message id (import it as `_`) for the catalog checks in
    tests/bot/test_i18n.py, for text translated later in each recipient's language."""
    return key


def translator(locale: str | None) -> Translate:
    """`_` for `locale` (falls back to English, then to the message id itself)."""
    return _catalog(locale if locale in LANGUAGES else "en").gettext


NGettext = Callable[[str, str, int], str]


def ngettext(locale: str | None) -> NGettext:
    """`ngettext` for `locale`: the plural form for n by the catalog's Plural-Forms header."""
    return _catalog(locale if locale in LANGUAGES else "en").ngettext
