"""Every message id used in code exists in every shipped language, translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from models.signals import CloseReason, Decision, SignalStatus
from models.users import Role, UserStatus

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "es", "ru")
CALL = re.compile(r"""(?<![\w.])_{1,2}\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']\s*\)""")
KEY_ERRORS = re.compile(
    r"""(?:UserFacingError|NotFound|PermissionDenied|InvalidInput|TransitionRefused|IntBound|_note)"""
    r"""\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']"""
)
GETTEXT = re.compile(r"""\.gettext\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
DYNAMIC = (
    {f"role.{r.value}" for r in Role}
    | {f"status.{s.value}" for s in UserStatus}
    | {f"signal.status_{s.value}" for s in SignalStatus}
    | {f"signal.closed_{r.value}" for r in CloseReason}
    | {f"signal.decision_{d.value}" for d in Decision}
    | {f"signal.event_{s.value}" for s in SignalStatus if s is not SignalStatus.PUBLISHED}
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(lang: str) -> dict[str, str]:
    with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


def used_ids() -> set[str]:
    ids = set(DYNAMIC)
    for folder in ("handlers", "middlewares", "services", "bot", "webapp", "jobs", "ea"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in (CALL, KEY_ERRORS, GETTEXT):
                ids.update(pattern.findall(text))
    return ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_used_id_is_translated(lang: str) -> None:
    messages = catalog(lang)
    missing = sorted(i for i in used_ids() if not messages.get(i))
    assert missing == []


@pytest.mark.parametrize("lang", ["es", "ru"])
def test_catalogs_agree_with_english(lang: str) -> None:
    en, other = catalog("en"), catalog(lang)
    assert set(other) == set(en)
    for key, text in en.items():
        assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), key


def test_no_unused_messages() -> None:
    unused = sorted(set(catalog("en")) - used_ids())
    assert unused == []


def test_i18n_loads_compiled_catalogs() -> None:
    from bot.app import build_i18n

    i18n = build_i18n()
    assert set(i18n.available_locales) >= set(LANGS)
    with i18n.context(), i18n.use_locale("es"):
        assert i18n.gettext("cancel.nothing") == "No hay nada que cancelar."
    with i18n.context(), i18n.use_locale("ru"):
        assert i18n.gettext("cancel.nothing") == "Отменять нечего."
