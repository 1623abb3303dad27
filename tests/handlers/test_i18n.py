"""Every message id used in code exists in every shipped language, translated."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from handlers.common import KINDS
from models.devices import CommandStatus, DeviceMode, DeviceStatus
from models.signals import CloseReason, Decision, SignalStatus
from models.users import Role, UserStatus
from services.app_settings import Visibility
from services.billing.catalog import Feature, load_catalog

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "es", "ru")
CALL = re.compile(r"""(?<![\w.])_{1,2}\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']\s*\)""")
KEY_ERRORS = re.compile(
    r"""(?:UserFacingError|NotFound|PermissionDenied|InvalidInput|TransitionRefused|NoChange"""
    r"""|RateLimited|IntBound|_note|plural|Plural|Term)\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']"""
)
GETTEXT = re.compile(r"""\.gettext\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""")
DYNAMIC = (
    {f"role.{r.value}" for r in Role}
    | {f"status.{s.value}" for s in UserStatus}
    | {f"signal.status_{s.value}" for s in SignalStatus}
    | {f"signal.closed_{r.value}" for r in CloseReason}
    | {f"signal.decision_{d.value}" for d in Decision}
    | {f"signal.event_{s.value}" for s in SignalStatus if s is not SignalStatus.PUBLISHED}
    | {f"command.status_{s.value}" for s in CommandStatus}
    | {f"devices.mode_{m.value}" for m in DeviceMode}
    | {f"devices.status_{s.value}" for s in DeviceStatus}
    | {f"visibility.{v.value}" for v in Visibility}
    | {f"common.kind_{kind}" for kind in KINDS}
    | {f"feature.{f.value}" for f in Feature}
    | {f"plan.{p.code}" for p in load_catalog(None, Decimal(1)).plans}  # the shipped plans
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# The Mini App's modules name the page's messages as literals (`t("miniapp.x")`, `tab:
# "miniapp.nav_x"`) or build them from a prefix (`t(`miniapp.notify_${kind}`)`).
JS_KEY = re.compile(r"""["'`]((?:miniapp|signal)\.[a-z0-9_.]+)["'`]""")
JS_PREFIX = re.compile(r"""`((?:miniapp|signal)\.[a-z0-9_.]*)\$\{""")


def read(lang: str) -> Catalog:
    with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh)


def forms(lang: str) -> dict[str, tuple[str, ...]]:
    """Every message's translations: one for a plain message, one per plural form."""
    out = {}
    for m in read(lang):
        if not m.id:
            continue
        key = m.id[0] if isinstance(m.id, tuple) else m.id
        out[key] = tuple(m.string) if isinstance(m.string, tuple) else (m.string,)
    return out


def catalog(lang: str) -> dict[str, str]:
    """Message id -> translation (a plural message: all its forms, joined); "" if one is
    missing."""
    return {k: "" if not all(v) else "\n".join(v) for k, v in forms(lang).items()}


def used_ids() -> set[str]:
    ids = set(DYNAMIC)
    for folder in ("handlers", "middlewares", "services", "bot", "webapp", "jobs", "ea"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in (CALL, KEY_ERRORS, GETTEXT):
                ids.update(pattern.findall(text))
    known = set(forms("en"))
    for path in (ROOT / "webapp" / "miniapp" / "static").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        ids.update(JS_KEY.findall(text))
        for prefix in JS_PREFIX.findall(text):
            ids.update(k for k in known if k.startswith(prefix))
    return ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_used_id_is_translated(lang: str) -> None:
    messages = catalog(lang)
    missing = sorted(i for i in used_ids() if not messages.get(i))
    assert missing == []


@pytest.mark.parametrize("lang", ["es", "ru"])
def test_catalogs_agree_with_english(lang: str) -> None:
    en, other = forms("en"), forms(lang)
    assert set(other) == set(en)
    for key, texts in en.items():
        wanted = set(PLACEHOLDER.findall(texts[0]))
        for text in (*texts, *other[key]):  # every plural form has the same placeholders
            assert set(PLACEHOLDER.findall(text)) == wanted, key


@pytest.mark.parametrize(("lang", "count"), [("en", 2), ("es", 2), ("ru", 3)])
def test_plural_messages_have_every_form_of_their_language(lang: str, count: int) -> None:
    cat = read(lang)
    assert cat.num_plurals == count  # the Plural-Forms header
    plurals = [m for m in cat if m.id and isinstance(m.id, tuple)]
    assert plurals, "some messages are counted phrases"
    for m in plurals:
        assert len(m.string) == count and all(m.string), m.id[0]


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
