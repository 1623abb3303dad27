"""Telegram Stars only inside Telegram: no link to the card checkout (the web /pricing page,
Stripe's hosted pages, the billing portal) anywhere in the Mini App or the bot. Checked in what
is shipped (the Mini App's files, the bot's handlers and services, every catalog message in
every language) and in what is served (the page shell, every static module, the strings and
the plan page the Mini App fetches)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from models.users import Role
from services.text.i18n import LANGUAGES
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import Api

ROOT = Path(__file__).resolve().parents[3]
CARD_LINK = re.compile(r"/pricing|stripe\.com|/billing/portal|/stripe/", re.I)
MINIAPP = ROOT / "webapp" / "miniapp"
VENDOR = MINIAPP / "static" / "vendor"
# What the bot sends is built here (texts come from the catalogs, checked below); the card
# backend itself (services/billing/stripe_*.py) talks to Stripe and is never shown to a user.
BOT_SOURCES = [ROOT / "handlers", ROOT / "services"]
CARD_BACKEND = re.compile(r"stripe_\w+\.py$")


def shipped() -> list[Path]:
    files = [p for p in MINIAPP.rglob("*") if p.suffix in {".py", ".js", ".css", ".html"}]
    files = [p for p in files if VENDOR not in p.parents]  # the chart library: not ours
    for top in BOT_SOURCES:
        files += [p for p in top.rglob("*.py") if not CARD_BACKEND.search(p.name)]
    return sorted(files)


def test_the_scan_sees_the_mini_app_and_the_bot() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in shipped()}
    assert {"webapp/miniapp/static/plan.js", "webapp/miniapp/templates/app.html",
            "handlers/shop.py", "services/miniapp/plan.py"} <= names  # fmt: skip
    assert not any(n.startswith("webapp/miniapp/static/vendor/") for n in names)


@pytest.mark.parametrize("path", shipped(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_file_of_the_mini_app_or_the_bot_links_to_card_checkout(path: Path) -> None:
    found = CARD_LINK.findall(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(ROOT)}: {found}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_message_links_to_card_checkout(language: str) -> None:
    po = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    texts = [(m.id, m.string) for m in catalog if m.id and m.string]
    assert len(texts) > 500  # the real catalog, read
    linking = [(msgid, text) for msgid, text in texts if CARD_LINK.search(str(text))]
    assert linking == []


async def test_nothing_the_mini_app_is_served_links_to_card_checkout(api: Api) -> None:
    status, page, _ = await api.call("GET", "/app")
    assert status == 200 and CARD_LINK.search(page) is None
    modules = sorted(set(re.findall(r"/app/static/([\w./-]+\.(?:js|css))", page)))
    modules += [p.name for p in (MINIAPP / "static").glob("*.js")]
    for name in sorted(set(modules)):
        if name.startswith("vendor/"):
            continue
        status, text, _ = await api.call("GET", f"/app/static/{name}")
        assert status == 200 and CARD_LINK.search(str(text)) is None, name
    await th.user(1000003, Role.PUBLIC, "Nico")
    session = await api.login(1000003)
    for language in LANGUAGES:
        status, strings, _ = await api.call("GET", f"/api/v1/i18n/{language}")
        assert status == 200 and CARD_LINK.search(str(strings)) is None, language
    status, plan, _ = await api.call("GET", "/api/v1/plan", auth=session)
    assert status == 200 and CARD_LINK.search(str(plan)) is None
